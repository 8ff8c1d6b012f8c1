// The indicator firmware: follow one alert topic, its annunciator state and the webhook's status,
// drive the red and green LEDs (and the optional buzzer), and send the button's
// acknowledgements. Anything doubtful shows the unknown pattern. Board glue and indicator-sim
// only call loop() and press() (and route the MQTT link's messages here).
#pragma once

#include <cstdint>

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/led_pattern.h"
#include "alertloop/liveness.h"
#include "alertloop/messages.h"

namespace alertloop {

struct IndicatorSettings {
  const char *device_id = "";
  // From platformio.ini's [topics] (or the simulator's options): no defaults here.
  const char *alert_topic = "";
  const char *webhook_status_topic = "";
};

enum class PressResult { kSent, kNothingToAcknowledge, kNotSent };

const char *press_result_text(PressResult result);

class IndicatorApp : public MessageSink {
 public:
  IndicatorApp(Clock &clock, Leds &leds, Buzzer &buzzer, MqttLink &mqtt,
               ConnectionManager &connection, const IndicatorSettings &settings);

  // false when `<alert topic>/annunciator` or `/ack/<device id>` does not fit: the caller reports
  // it and stops.
  bool topics_ok() const { return topics_ok_; }
  const char *annunciator_topic() const { return annunciator_topic_; }
  const char *ack_topic() const { return ack_topic_; }
  void loop();
  // A (debounced) press of the acknowledge button: acknowledges what the LEDs show, when it is
  // flashing, by sending the device id on `<alert topic>/ack/<device id>`: the broker's ACL lets
  // a board write acknowledgements only under its own id, so the webhook knows who it was.
  PressResult press();
  void shutdown();
  void on_message(const char *topic, const uint8_t *payload, size_t length) override;
  Display display() const { return display_; }
  // The topics and what is known so far, on the log (ESPHome's dump_config), at boot.
  void dump_config() const;

 private:
  void subscribe();
  void forget();
  void show(uint32_t now_ms);

  Clock &clock_;
  Leds &leds_;
  Buzzer &buzzer_;
  MqttLink &mqtt_;
  ConnectionManager &connection_;
  IndicatorSettings settings_;
  char annunciator_topic_[kTopicSize];
  char ack_topic_[kTopicSize];
  bool topics_ok_;
  IndicatorInputs inputs_;
  LivenessTracker webhook_;
  Display display_{Indication::kUnknown, UnknownReason::kBrokerUnreachable};
  bool shown_ = false;
};

}  // namespace alertloop
