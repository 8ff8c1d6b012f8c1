// The indicator firmware: follow one or more alerts (each on an alarm-colour LED, with a
// priority), their annunciator states and the webhook's liveness; show the highest-priority
// active one on the LEDs (and the optional buzzer), and let the button acknowledge that one.
// Anything doubtful shows the unknown pattern. Board glue and indicator-sim only call loop() and
// press() (and route the MQTT link's messages here).
#pragma once

#include <cstdint>

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/led_pattern.h"
#include "alertloop/liveness.h"
#include "alertloop/messages.h"

namespace alertloop {

static const uint8_t kMaxFollows = 4;

// One followed alert: its topic, the LED that shows it (an alarm colour, 1..kMaxLeds-1), and its
// priority (higher wins when several are active at once).
struct AlertFollow {
  const char *topic = "";
  uint8_t led = 1;
  uint8_t priority = 1;
};

struct IndicatorSettings {
  const char *device_id = "";
  // From platformio.ini (or the simulator's options): no topic defaults here.
  const char *webhook_status_topic = "";
  AlertFollow follows[kMaxFollows] = {};
  uint8_t follow_count = 0;
  // The LEDs' colour names, for the log and indicator-sim: LED 0 is green.
  const char *led_names[kMaxLeds] = {"green", "red", "", ""};
  // One alert on LED 1, priority 1: the same as follows[0] = {alert_topic} (when follow_count 0).
  const char *alert_topic = "";
};

enum class PressResult { kSent, kNothingToAcknowledge, kNotSent };

const char *press_result_text(PressResult result);

class IndicatorApp : public MessageSink {
 public:
  IndicatorApp(Clock &clock, Leds &leds, Buzzer &buzzer, MqttLink &mqtt,
               ConnectionManager &connection, const IndicatorSettings &settings);

  // false when a topic does not fit, a topic is empty, or an alert's LED is not an alarm colour:
  // the caller reports it and stops.
  bool topics_ok() const { return topics_ok_; }
  const char *annunciator_topic(uint8_t follow = 0) const { return followed_[follow].annunciator; }
  const char *ack_topic(uint8_t follow = 0) const { return followed_[follow].ack; }
  void loop();
  // A (debounced) press of the acknowledge button: acknowledges what the LEDs show, when it
  // flashes, by sending the device id on `<its alert topic>/ack/<device id>`: the broker's ACL
  // lets a board write acknowledgements only under its own id, so the webhook knows who it was.
  PressResult press();
  void shutdown();
  void on_message(const char *topic, const uint8_t *payload, size_t length) override;
  Display display() const { return display_; }
  // The followed alert the LEDs show (an index into the settings' follows).
  uint8_t shown_follow() const { return shown_follow_; }
  // "red-flashing", "yellow", "unknown", ...: what indicator-sim prints.
  const char *shown_name() const { return shown_name_; }
  // The topics and what is known so far, on the log (ESPHome's dump_config), at boot.
  void dump_config() const;

 private:
  struct Followed {
    AlertFollow follow;
    char annunciator[kTopicSize];
    char ack[kTopicSize];
    IndicatorInputs inputs;
  };

  void subscribe();
  void forget();
  void show(uint32_t now_ms);
  uint8_t choose(Display &display) const;

  Clock &clock_;
  Leds &leds_;
  Buzzer &buzzer_;
  MqttLink &mqtt_;
  ConnectionManager &connection_;
  IndicatorSettings settings_;
  Followed followed_[kMaxFollows];
  uint8_t count_ = 0;
  bool topics_ok_ = true;
  bool broker_connected_ = false;
  Liveness webhook_state_ = Liveness::kNotHeard;
  LivenessTracker webhook_;
  Display display_{Indication::kUnknown, UnknownReason::kBrokerUnreachable};
  uint8_t shown_follow_ = 0;
  char shown_name_[24] = "unknown";
  bool shown_ = false;
};

}  // namespace alertloop
