// actuator-sim: the actuator firmware's logic on Linux against a real broker (CONTRACTS.md,
// "Actuator board"). Each relay has a feedback contact that follows it, unless `feedback <n>
// on|off` on stdin forces it (a stuck relay). Prints "RELAY <n> on|off" and "FAILSAFE on|off"
// at every change; `ignore` / `obey` on stdin stop and resume obeying commands.
#include <cstdio>
#include <sstream>

#include "alertloop/actuator_app.h"
#include "alertloop/log.h"
#include "input_lines.h"
#include "sim_runtime.h"

namespace {

const int kTickMs = 10;

class SimRelays : public alertloop::Relays {
 public:
  void drive(uint8_t relay, bool on) override { level_[relay] = on; }
  bool feedback(uint8_t relay, bool &on) override {
    on = forced_[relay] ? contact_[relay] : level_[relay];
    return true;
  }
  void force(uint8_t relay, bool on) {
    forced_[relay] = true;
    contact_[relay] = on;
  }

 private:
  bool level_[alertloop::kMaxRelays + 1] = {};
  bool forced_[alertloop::kMaxRelays + 1] = {};
  bool contact_[alertloop::kMaxRelays + 1] = {};
};

// "feedback <n> on|off" with 1 <= n <= relays.
bool parse_feedback(const std::string &line, uint32_t relays, uint8_t &relay, bool &on) {
  std::istringstream words(line);
  std::string word, state, extra;
  unsigned number = 0;
  if (!(words >> word >> number >> state) || words >> extra || word != "feedback") return false;
  if (number < 1 || number > relays || (state != "on" && state != "off")) return false;
  relay = static_cast<uint8_t>(number);
  on = state == "on";
  return true;
}

int run(const host::SimOptions &options) {
  host::MonotonicClock clock;
  SimRelays relays;
  host::Stdin input;
  host::InputLines lines("ignore, obey or feedback <n> on|off");

  alertloop::ActuatorSettings settings;
  settings.device_id = options.device_id.c_str();
  settings.actuators_root = options.actuators_root.c_str();
  settings.actions_status_topic = options.actions_status_topic.c_str();
  settings.relays = static_cast<uint8_t>(options.relays);
  settings.failsafe_ms = options.failsafe_s * 1000;
  alertloop::SafeState safe = alertloop::SafeState::kOff;
  alertloop::parse_safe_state(options.safe_state.c_str(), safe);  // checked by the options
  for (auto &state : settings.safe) state = safe;
  host::SimConnection connection(options);
  if (!connection.ok()) return 2;
  host::MosquittoLink &link = connection.link();
  alertloop::ActuatorApp app(clock, relays, link, connection.manager(), settings);
  if (!app.topics_ok()) {
    alertloop::log_line("--device-id is too long");
    return 2;
  }
  link.set_sink(&app);
  connection.manager().dump_config();
  app.dump_config();

  auto accept = [&](const std::string &line) {
    uint8_t relay = 0;
    bool on = false;
    if (host::is_word(line, "ignore") || host::is_word(line, "obey")) {
      app.set_obeying(host::is_word(line, "obey"));
    } else if (parse_feedback(line, options.relays, relay, on)) {
      relays.force(relay, on);
    } else {
      return false;
    }
    return true;
  };
  bool printed = false;
  bool shown[alertloop::kMaxRelays + 1] = {};
  bool failsafe_shown = false;
  while (!host::stop_requested()) {
    app.loop();
    for (uint8_t n = 1; n <= options.relays; n++) {
      if (!printed || app.driven(n) != shown[n]) {
        shown[n] = app.driven(n);
        printf("RELAY %u %s\n", static_cast<unsigned>(n), shown[n] ? "on" : "off");
      }
    }
    if (!printed || app.failsafe() != failsafe_shown) {
      failsafe_shown = app.failsafe();
      printf("FAILSAFE %s\n", failsafe_shown ? "on" : "off");
    }
    printed = true;
    fflush(stdout);
    if (host::wait_for_io(link, input.fd(), kTickMs)) {
      input.read([&](const char *data, size_t length) { lines.feed(data, length, accept); });
    }
  }
  app.shutdown();
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  host::start_runtime("actuator-sim");
  host::SimOptions options;
  int exit_code = host::handle_command_line(host::SimKind::kActuator, argc, argv, options);
  if (exit_code < 0) exit_code = run(options);
  host::stop_runtime();
  return exit_code;
}
