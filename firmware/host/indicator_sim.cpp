// indicator-sim: the indicator firmware's logic on Linux against a real broker. Prints
// "LED green", "LED red" or "LED unknown" on stdout at every change of what the LEDs show.
#include <cstdio>

#include "alertloop/indicator_app.h"
#include "alertloop/log.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_runtime.h"

namespace {

const int kTickMs = 20;

class NoLeds : public alertloop::Leds {
 public:
  void set(bool, bool) override {}
};

int run(const host::SimOptions &options) {
  host::MonotonicClock clock;
  NoLeds leds;

  alertloop::IndicatorSettings settings;
  settings.device_id = options.device_id.c_str();
  settings.alert_topic = options.topic.c_str();
  settings.webhook_status_topic = options.webhook_status_topic.c_str();
  host::SimConnection connection(options, settings.status_root);
  if (!connection.ok()) return 2;
  host::MosquittoLink &link = connection.link();
  alertloop::IndicatorApp app(clock, leds, link, connection.manager(), settings);
  link.set_sink(&app);

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
    host::wait_for_io(link, -1, kTickMs);
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
