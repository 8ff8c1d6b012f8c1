// indicator-sim: the indicator firmware's logic on Linux against a real broker. Prints
// "LED <indication>" on stdout at every change of what the LEDs show; a line "press" on stdin is
// a press of the board's acknowledge button.
#include <cstdio>

#include "alertloop/indicator_app.h"
#include "alertloop/indicator_config.h"
#include "alertloop/log.h"
#include "input_lines.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_runtime.h"

namespace {

const int kTickMs = 20;

class NoLeds : public alertloop::Leds {
 public:
  void set(uint8_t, bool) override {}
};

class NoBuzzer : public alertloop::Buzzer {
 public:
  void set(bool) override {}
};

int run(const host::SimOptions &options) {
  host::MonotonicClock clock;
  NoLeds leds;
  NoBuzzer buzzer;
  host::Stdin input;
  host::InputLines lines("press");

  // The simulator's LEDs: green and each colour its alerts name, in order (no pins).
  std::string led_list = "green:0", follows;
  for (const auto &follow : options.follows) {
    size_t colon = follow.find(':');
    std::string colour = follow.substr(colon + 1, follow.find(':', colon + 1) - colon - 1);
    if (colon != std::string::npos && led_list.find("," + colour + ":") == std::string::npos &&
        colour != "green") {
      led_list += "," + colour + ":0";
    }
    follows += (follows.empty() ? "" : ",") + follow;
  }
  alertloop::IndicatorWiring wiring;
  char problem[96] = "";
  if (!alertloop::parse_indicator_wiring(led_list.c_str(), follows.c_str(), wiring, problem,
                                         sizeof(problem))) {
    alertloop::log_line("--follow: %s", problem);
    return 2;
  }
  alertloop::IndicatorSettings settings;
  settings.device_id = options.device_id.c_str();
  wiring.apply(settings);
  settings.webhook_status_topic = options.webhook_status_topic.c_str();
  host::SimConnection connection(options);
  if (!connection.ok()) return 2;
  host::MosquittoLink &link = connection.link();
  alertloop::IndicatorApp app(clock, leds, buzzer, link, connection.manager(), settings);
  if (!app.topics_ok()) {
    alertloop::log_line("--topic is too long");
    return 2;
  }
  link.set_sink(&app);
  connection.manager().dump_config();
  app.dump_config();

  auto press = [&app](const std::string &line) {
    if (!host::is_word(line, "press")) return false;
    app.press();
    return true;
  };
  std::string shown;
  while (!host::stop_requested()) {
    app.loop();
    if (shown != app.shown_name()) {
      shown = app.shown_name();
      printf("LED %s\n", shown.c_str());
      fflush(stdout);
    }
    if (host::wait_for_io(link, input.fd(), kTickMs)) {
      input.read([&](const char *data, size_t length) { lines.feed(data, length, press); });
    }
  }
  app.shutdown();
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  host::start_runtime("indicator-sim");
  host::SimOptions options;
  int exit_code = host::handle_command_line(host::SimKind::kIndicator, argc, argv, options);
  if (exit_code < 0) exit_code = run(options);
  host::stop_runtime();
  return exit_code;
}
