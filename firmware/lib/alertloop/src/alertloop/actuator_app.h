// The actuator firmware (CONTRACTS.md, "Actuator board"): relays commanded on
// `<actuators root>/<device>/<n>/set` (`on` / `off`, relays numbered from 1), each relay's state
// retained on `<actuators root>/<device>/<n>/state` at connect and on every change (read from
// its feedback contact when it has one, else the level driven), and a fail-safe of its own:
// when the broker link is down, or the actions service has had no live `online` on its status
// topic for longer than failsafe_ms, each relay goes to its safe state (`off`, `on`, `hold`).
// Board glue and actuator-sim only call loop() and route the link's messages here.
#pragma once

#include <cstdint>

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/liveness.h"
#include "alertloop/messages.h"

namespace alertloop {

static const uint8_t kMaxRelays = 8;

enum class SafeState { kOff, kOn, kHold };

// "off", "on", "hold"; false for anything else.
bool parse_safe_state(const char *text, SafeState &out);
const char *safe_state_name(SafeState state);

// The relays' hardware: drive a relay, and read its feedback contact if it has one.
class Relays {
 public:
  virtual ~Relays() = default;
  virtual void drive(uint8_t relay, bool on) = 0;  // relay 1..count
  // false: this relay has no feedback input (its state is the level driven).
  virtual bool feedback(uint8_t relay, bool &on) = 0;
};

struct ActuatorSettings {
  const char *device_id = "";
  const char *actuators_root = "";  // from platformio.ini's [topics] (or the simulator's option)
  const char *actions_status_topic = "";
  uint8_t relays = 1;
  uint32_t failsafe_ms = 30000;
  SafeState safe[kMaxRelays] = {};  // kOff unless set
};

class ActuatorApp : public MessageSink {
 public:
  ActuatorApp(Clock &clock, Relays &relays, MqttLink &mqtt, ConnectionManager &connection,
              const ActuatorSettings &settings);

  // false when a topic does not fit, or relays is 0 or above kMaxRelays.
  bool topics_ok() const { return topics_ok_; }
  void loop();
  void on_message(const char *topic, const uint8_t *payload, size_t length) override;
  void shutdown();
  void dump_config() const;

  bool driven(uint8_t relay) const { return driven_[relay - 1]; }
  bool failsafe() const { return failsafe_; }
  // actuator-sim's `ignore` / `obey`: a relay board that stopped listening (for tests and demos).
  void set_obeying(bool obeying) { obeying_ = obeying; }

 private:
  void subscribe();
  void drive(uint8_t relay, bool on);
  void check_failsafe(uint32_t now_ms);
  void report(bool all);
  bool state_of(uint8_t relay);
  int relay_of(const char *topic) const;

  Clock &clock_;
  Relays &relays_;
  MqttLink &mqtt_;
  ConnectionManager &connection_;
  ActuatorSettings settings_;
  LivenessTracker actions_;
  bool topics_ok_ = true;
  char set_topics_[kMaxRelays][kTopicSize];
  char state_topics_[kMaxRelays][kTopicSize];
  bool driven_[kMaxRelays] = {};
  bool reported_[kMaxRelays] = {};
  bool failsafe_ = false;
  bool obeying_ = true;
  bool started_ = false;
  uint32_t last_link_ms_ = 0;  // the last time the link was up
  uint32_t last_live_ms_ = 0;  // the last live `online` of the actions service
};

}  // namespace alertloop
