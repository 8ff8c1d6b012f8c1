// The sensor firmware: sample the pot, smooth and scale it, publish it on schedule, keep its
// status topic, and reconnect by itself. Board glue and sensor-sim only call loop().
#pragma once

#include <cstdint>

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/messages.h"
#include "alertloop/pot_filter.h"
#include "alertloop/publish_schedule.h"

namespace alertloop {

struct SensorSettings {
  const char *device_id = "";
  const char *sensors_root = "";  // from platformio.ini's [topics] (or the simulator's build)
  const char *measurement = "pot";
  uint32_t sample_period_ms = 10;
  uint8_t oversample = 16;  // ADC reads averaged into one sample
  float smoothing_alpha = 0.2f;
  PotScale scale;
  ScheduleSettings schedule;
};

class SensorApp {
 public:
  SensorApp(Clock &clock, WallClock &wall_clock, Adc &adc, MqttLink &mqtt,
            ConnectionManager &connection, const SensorSettings &settings);

  // false when the reading topic does not fit (device id too long): the caller reports it and
  // stops.
  bool topics_ok() const { return topics_ok_; }
  const char *reading_topic() const { return reading_topic_; }
  void loop();
  // A graceful stop (the simulators on SIGTERM): say offline, since the Last Will won't.
  void shutdown();
  // The topic and the schedule, on the log (ESPHome's dump_config), at boot.
  void dump_config() const;

  bool has_value() const { return filter_.has_value(); }
  int32_t value_tenths() const { return scale_to_tenths(filter_.value(), settings_.scale); }
  uint32_t published() const { return seq_; }

 private:
  void sample(uint32_t now_ms);
  void publish_if_due(uint32_t now_ms);

  Clock &clock_;
  WallClock &wall_clock_;
  Adc &adc_;
  MqttLink &mqtt_;
  ConnectionManager &connection_;
  SensorSettings settings_;
  PotFilter filter_;
  PublishSchedule schedule_;
  char reading_topic_[kTopicSize];
  bool topics_ok_;
  bool sampled_ = false;
  uint32_t last_sample_at_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace alertloop
