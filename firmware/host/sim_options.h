// Command lines of sensor-sim and indicator-sim (docs/firmware.md, "Host build and simulators").
#pragma once

#include <cstdint>
#include <string>

namespace host {

enum class SimKind { kSensor, kIndicator };

struct SimOptions {
  std::string host;
  int port = 0;
  std::string username;
  std::string password;
  std::string device_id;
  uint32_t interval_ms = 500;      // sensor
  std::string topic;               // indicator: the alert topic
  std::string webhook_status_topic = "status/webhook";  // indicator
  uint32_t backoff_max_ms = 2000;  // short, so tests and demos converge fast
  bool help = false;
};

// false with a one-line reason in `error` for a bad command line.
bool parse_sim_options(SimKind kind, int argc, const char *const *argv, SimOptions &options,
                       std::string &error);
const char *sim_usage(SimKind kind);

}  // namespace host
