// The indicator firmware: follow one alert topic and the webhook's status topic, and drive the
// red and green LEDs; anything doubtful shows the unknown pattern. Board glue and indicator-sim
// only call loop() (and route the MQTT link's messages here).
#pragma once

#include <cstdint>

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/led_pattern.h"
#include "alertloop/messages.h"

namespace alertloop {

struct IndicatorSettings {
  const char *device_id = "";
  const char *status_root = "status";
  const char *alert_topic = "alerts/pot-high";
  const char *webhook_status_topic = "status/webhook";
};

class IndicatorApp : public MessageSink {
 public:
  IndicatorApp(Clock &clock, Leds &leds, MqttLink &mqtt, ConnectionManager &connection,
               const IndicatorSettings &settings);

  bool topics_ok() const { return topics_ok_; }
  const char *status_topic() const { return status_topic_; }
  void loop();
  void shutdown();
  void on_message(const char *topic, const uint8_t *payload, size_t length) override;
  Display display() const { return display_; }

 private:
  Clock &clock_;
  Leds &leds_;
  MqttLink &mqtt_;
  ConnectionManager &connection_;
  IndicatorSettings settings_;
  char status_topic_[kTopicSize];
  bool topics_ok_;
  AlertState alert_ = AlertState::kUnknown;
  bool alert_seen_ = false;
  PeerStatus webhook_ = PeerStatus::kUnknown;
  Display display_{Indication::kUnknown, UnknownReason::kBrokerUnreachable};
  bool shown_ = false;
};

}  // namespace alertloop
