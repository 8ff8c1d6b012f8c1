// indicator-sim: the indicator firmware's logic on Linux against a real broker. Prints
// "LED <indication>" on stdout at every change of what the LEDs show; a line "press" on stdin is
// a press of the board's acknowledge button.
#include <cstdio>

#include "alertloop/indicator_app.h"
#include "alertloop/log.h"
#include "input_lines.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_runtime.h"

namespace {

const int kTickMs = 20;

class NoLeds : public alertloop::Leds {
 public:
  void set(bool, bool) override {}
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

  alertloop::IndicatorSettings settings;
  settings.device_id = options.device_id.c_str();
  settings.alert_topic = options.topic.c_str();
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
  bool printed = false;
  alertloop::Indication shown = alertloop::Indication::kUnknown;
  while (!host::stop_requested()) {
    app.loop();
    alertloop::Indication now = app.display().indication;
    if (!printed || now != shown) {
      printed = true;
      shown = now;
      printf("LED %s\n", alertloop::indication_name(now));
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
