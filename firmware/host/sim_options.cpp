#include "sim_options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace host {

static bool parse_number(const std::string &text, uint32_t low, uint32_t high, uint32_t &out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  unsigned long value = strtoul(text.c_str(), nullptr, 10);
  if (errno != 0 || value < low || value > high) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

const char *sim_usage(SimKind kind) {
  if (kind == SimKind::kSensor) {
    return "usage: sensor-sim --host H --port P [--username U --password W] --device-id ID\n"
           "                  [--interval-ms N] [--backoff-max-ms N]\n"
           "Each line on stdin is a raw 12-bit ADC reading (0-4095).\n";
  }
  if (kind == SimKind::kActuator) {
    return "usage: actuator-sim --host H --port P [--username U --password W] --device-id ID\n"
           "                    [--relays N] [--failsafe-s S] [--safe-state off|on|hold]\n"
           "                    [--backoff-max-ms N]\n"
           "Prints RELAY <n> on|off and FAILSAFE on|off on every change. Lines on stdin:\n"
           "'ignore' (stop obeying commands), 'obey', 'feedback <n> on|off' (force relay n's\n"
           "feedback contact: a stuck relay).\n";
  }
  return "usage: indicator-sim --host H --port P [--username U --password W] --device-id ID\n"
         "                     --topic T | --follow T:COLOUR[:PRIORITY] (repeatable)\n"
         "                     [--webhook-status-topic T] [--backoff-max-ms N]\n"
         "--topic T follows T on the red LED, priority 1. Prints LED green / red / red-flashing /\n"
         "green-flashing / shelved / out-of-service / unknown (another colour's name for its\n"
         "alerts) on every change.\n"
         "A line 'press' on stdin presses the acknowledge button.\n";
}

bool parse_sim_options(SimKind kind, int argc, const char *const *argv, SimOptions &options,
                       std::string &error) {
  bool sensor = kind == SimKind::kSensor;
  bool actuator = kind == SimKind::kActuator;
  bool indicator = kind == SimKind::kIndicator;
  for (int i = 1; i < argc; i++) {
    std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      options.help = true;
      return true;
    }
    std::string value;
    size_t equals = name.find('=');
    if (name.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      error = name + " needs a value";
      return false;
    }
    uint32_t number = 0;
    if (name == "--host") {
      options.host = value;
    } else if (name == "--port") {
      if (!parse_number(value, 1, 65535, number)) {
        error = "--port must be 1-65535, got '" + value + "'";
        return false;
      }
      options.port = static_cast<int>(number);
    } else if (name == "--username") {
      options.username = value;
    } else if (name == "--password") {
      options.password = value;
    } else if (name == "--device-id") {
      options.device_id = value;
    } else if (name == "--backoff-max-ms") {
      if (!parse_number(value, 100, 600000, number)) {
        error = "--backoff-max-ms must be 100-600000, got '" + value + "'";
        return false;
      }
      options.backoff_max_ms = number;
    } else if (sensor && name == "--interval-ms") {
      if (!parse_number(value, 10, 3600000, number)) {
        error = "--interval-ms must be 10-3600000, got '" + value + "'";
        return false;
      }
      options.interval_ms = number;
    } else if (indicator && name == "--topic") {
      options.topic = value;
      options.follows.push_back(value + ":red:1");
    } else if (indicator && name == "--follow") {
      options.follows.push_back(value);
    } else if (indicator && name == "--webhook-status-topic") {
      options.webhook_status_topic = value;
    } else if (actuator && name == "--relays") {
      if (!parse_number(value, 1, 8, number)) {
        error = "--relays must be 1-8, got '" + value + "'";
        return false;
      }
      options.relays = number;
    } else if (actuator && name == "--failsafe-s") {
      if (!parse_number(value, 1, 86400, number)) {
        error = "--failsafe-s must be 1-86400, got '" + value + "'";
        return false;
      }
      options.failsafe_s = number;
    } else if (actuator && name == "--safe-state") {
      if (value != "off" && value != "on" && value != "hold") {
        error = "--safe-state must be off, on or hold, got '" + value + "'";
        return false;
      }
      options.safe_state = value;
    } else {
      error = "unknown option " + name;
      return false;
    }
  }
  std::string missing;
  if (options.host.empty()) missing += " --host";
  if (options.port == 0) missing += " --port";
  if (options.device_id.empty()) missing += " --device-id";
  if (indicator && options.follows.empty()) missing += " --topic";
  if (!missing.empty()) {
    error = "missing:" + missing;
    return false;
  }
  if (options.device_id.find_first_of("/+#") != std::string::npos) {
    error = "--device-id must not contain / + or #";
    return false;
  }
  bool wildcard = false;
  for (const auto &follow : options.follows) wildcard |= follow.find_first_of("+#") != std::string::npos;
  if (indicator && (wildcard ||
                  options.webhook_status_topic.find_first_of("+#") != std::string::npos)) {
    error = "topics must not contain wildcards (+ or #)";
    return false;
  }
  if (!options.password.empty() && options.username.empty()) {
    error = "--password needs --username";
    return false;
  }
  return true;
}

}  // namespace host
