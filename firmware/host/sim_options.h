// Command lines of sensor-sim and indicator-sim (docs/firmware.md, "Host build and simulators").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace host {

enum class SimKind { kSensor, kIndicator, kActuator };

struct SimOptions {
  std::string host;
  int port = 0;
  std::string username;
  std::string password;
  std::string device_id;
  uint32_t interval_ms = 500;      // sensor
  std::string topic;               // indicator: the alert topic (no default: required)
  std::vector<std::string> follows;  // indicator: topic:colour[:priority], --topic is T:red:1
  std::string webhook_status_topic = ALERTLOOP_WEBHOOK_STATUS_TOPIC;  // indicator
  uint32_t relays = 1;             // actuator
  uint32_t failsafe_s = 30;        // actuator
  std::string safe_state = "off";  // actuator
  std::string actuators_root = ALERTLOOP_ACTUATORS_ROOT;              // actuator
  std::string actions_status_topic = ALERTLOOP_ACTIONS_STATUS_TOPIC;  // actuator
  uint32_t backoff_max_ms = 2000;  // short, so tests and demos converge fast
  bool help = false;
};

// false with a one-line reason in `error` for a bad command line.
bool parse_sim_options(SimKind kind, int argc, const char *const *argv, SimOptions &options,
                       std::string &error);
const char *sim_usage(SimKind kind);

}  // namespace host
