#include "alertloop/actuator_app.h"

#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "alertloop/log.h"

namespace alertloop {

static const char *const kOn = "on";
static const char *const kOff = "off";

bool parse_safe_state(const char *text, SafeState &out) {
  if (text == nullptr) return false;
  for (SafeState state : {SafeState::kOff, SafeState::kOn, SafeState::kHold}) {
    if (strcmp(text, safe_state_name(state)) == 0) {
      out = state;
      return true;
    }
  }
  return false;
}

const char *safe_state_name(SafeState state) {
  switch (state) {
    case SafeState::kOn: return "on";
    case SafeState::kHold: return "hold";
    case SafeState::kOff: break;
  }
  return "off";
}

ActuatorApp::ActuatorApp(Clock &clock, Relays &relays, MqttLink &mqtt,
                         ConnectionManager &connection, const ActuatorSettings &settings)
    : clock_(clock), relays_(relays), mqtt_(mqtt), connection_(connection), settings_(settings) {
  if (settings_.relays == 0 || settings_.relays > kMaxRelays) {
    topics_ok_ = false;
    settings_.relays = 1;
  }
  for (uint8_t n = 1; n <= settings_.relays; n++) {
    char level[4];
    snprintf(level, sizeof(level), "%u", static_cast<unsigned>(n));
    char relay_topic[kTopicSize];
    topics_ok_ = topics_ok_ &&
                 format_topic(settings_.actuators_root, settings_.device_id, level, relay_topic,
                              sizeof(relay_topic)) &&
                 subtopic(relay_topic, "set", set_topics_[n - 1], kTopicSize) &&
                 subtopic(relay_topic, "state", state_topics_[n - 1], kTopicSize);
  }
  topics_ok_ = topics_ok_ && settings_.actions_status_topic[0] != '\0';
}

void ActuatorApp::loop() {
  uint32_t now = clock_.millis();
  if (!started_) {
    // At power-up nothing is known yet: every relay starts in its safe state (`hold`: off,
    // there is nothing to hold), and the failsafe clock starts now.
    started_ = true;
    last_link_ms_ = now;
    last_live_ms_ = now;
    for (uint8_t n = 1; n <= settings_.relays; n++) drive(n, settings_.safe[n - 1] == SafeState::kOn);
  }
  switch (connection_.loop(now)) {
    case ConnectionEvent::kConnected:
      subscribe();
      report(true);
      connection_.announce_online();
      break;
    case ConnectionEvent::kDisconnected:
      actions_.subscribed();
      break;
    case ConnectionEvent::kNone:
      break;
  }
  check_failsafe(now);
  if (connection_.connected()) report(false);
}

void ActuatorApp::subscribe() {
  actions_.subscribed();
  mqtt_.subscribe(settings_.actions_status_topic);
  for (uint8_t n = 1; n <= settings_.relays; n++) mqtt_.subscribe(set_topics_[n - 1]);
}

void ActuatorApp::check_failsafe(uint32_t now_ms) {
  if (connection_.connected()) last_link_ms_ = now_ms;
  bool link_lost = now_ms - last_link_ms_ > settings_.failsafe_ms;
  bool due = link_lost || now_ms - last_live_ms_ > settings_.failsafe_ms;
  if (due == failsafe_) return;
  failsafe_ = due;
  if (failsafe_) {
    log_line("failsafe: on (%s for more than %lu ms): relays to their safe states",
             link_lost ? "broker unreachable" : "no live actions status",
             static_cast<unsigned long>(settings_.failsafe_ms));
    for (uint8_t n = 1; n <= settings_.relays; n++) {
      SafeState safe = settings_.safe[n - 1];
      if (safe != SafeState::kHold) drive(n, safe == SafeState::kOn);
    }
  } else {
    log_line("failsafe: off, obeying commands again");
  }
}

void ActuatorApp::drive(uint8_t relay, bool on) {
  driven_[relay - 1] = on;
  relays_.drive(relay, on);
}

bool ActuatorApp::state_of(uint8_t relay) {
  bool on = driven_[relay - 1];
  bool contact = false;
  if (relays_.feedback(relay, contact)) on = contact;
  return on;
}

// The state topics, retained: all of them (at connect), or those that changed since.
void ActuatorApp::report(bool all) {
  for (uint8_t n = 1; n <= settings_.relays; n++) {
    bool on = state_of(n);
    if (!all && on == reported_[n - 1]) continue;
    if (mqtt_.publish(state_topics_[n - 1], on ? kOn : kOff, true, 1)) reported_[n - 1] = on;
  }
}

int ActuatorApp::relay_of(const char *topic) const {
  for (uint8_t n = 1; n <= settings_.relays; n++) {
    if (strcmp(topic, set_topics_[n - 1]) == 0) return n;
  }
  return 0;
}

void ActuatorApp::on_message(const char *topic, const uint8_t *payload, size_t length) {
  if (strcmp(topic, settings_.actions_status_topic) == 0) {
    PeerStatus status = parse_status(payload, length);
    uint32_t now = clock_.millis();
    if (actions_.seen(status, now) && status == PeerStatus::kOnline) last_live_ms_ = now;
    return;
  }
  int relay = relay_of(topic);
  if (relay == 0) return;
  AlertState command = AlertState::kUnknown;
  if (length == 2 && memcmp(payload, kOn, 2) == 0) command = AlertState::kFiring;
  if (length == 3 && memcmp(payload, kOff, 3) == 0) command = AlertState::kClear;
  if (command == AlertState::kUnknown) {
    log_line("relay %d: command ignored, not on or off", relay);
  } else if (!obeying_) {
    log_line("relay %d: command ignored (told to ignore commands)", relay);
  } else if (failsafe_) {
    log_line("relay %d: command ignored while in failsafe", relay);
  } else {
    drive(static_cast<uint8_t>(relay), command == AlertState::kFiring);
  }
}

void ActuatorApp::shutdown() { connection_.shutdown(); }

void ActuatorApp::dump_config() const {
  log_line("actuator: device id '%s', %u relays, commands on %s ...", settings_.device_id,
           static_cast<unsigned>(settings_.relays), set_topics_[0]);
  log_line("actuator: failsafe after %lu ms without the broker or a live %s",
           static_cast<unsigned long>(settings_.failsafe_ms), settings_.actions_status_topic);
  for (uint8_t n = 1; n <= settings_.relays; n++) {
    log_line("actuator: relay %u safe state %s", static_cast<unsigned>(n),
             safe_state_name(settings_.safe[n - 1]));
  }
}

}  // namespace alertloop
