// sensor-sim: the sensor firmware's logic on Linux against a real broker; stdin lines stand for
// the potentiometer's raw ADC readings.
#include <unistd.h>

#include "adc_lines.h"
#include "alertloop/connection.h"
#include "alertloop/log.h"
#include "alertloop/sensor_app.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_runtime.h"

namespace {

const int kKeepaliveS = 15;
const int kTickMs = 5;

int run(const host::SimOptions &options) {
  host::MonotonicClock clock;
  host::SystemWallClock wall_clock;
  host::LoopbackNetwork network;
  host::LineAdc adc;
  host::MosquittoLink link(options.host, options.port, kKeepaliveS);

  alertloop::SensorSettings settings;
  settings.device_id = options.device_id.c_str();
  settings.schedule.interval_ms = options.interval_ms;
  char status_topic[alertloop::kTopicSize];
  if (!alertloop::format_topic(settings.status_root, settings.device_id, nullptr, status_topic,
                               sizeof(status_topic))) {
    alertloop::log_line("--device-id is too long");
    return 2;
  }
  alertloop::ConnectOptions connect{options.device_id.c_str(), options.username.c_str(),
                                    options.password.c_str(), status_topic, "offline"};
  alertloop::ConnectionSettings connection_settings;
  connection_settings.backoff_initial_ms = 100;
  connection_settings.backoff_max_ms = options.backoff_max_ms;
  connection_settings.connect_timeout_ms = 5000;
  alertloop::ConnectionManager connection(network, link, connect, connection_settings);
  alertloop::SensorApp app(clock, wall_clock, adc, link, connection, settings);

  bool stdin_open = true;
  while (!host::stop_requested()) {
    app.loop();
    if (host::wait_for_io(link, stdin_open ? STDIN_FILENO : -1, kTickMs)) {
      char buffer[4096];
      ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
      if (got > 0) {
        adc.feed(buffer, static_cast<size_t>(got));
      } else {
        stdin_open = false;
        alertloop::log_line("stdin closed; holding the last reading");
      }
    }
  }
  app.shutdown();
  alertloop::log_line("stopped after %lu readings published, %lu stdin lines ignored",
                      static_cast<unsigned long>(app.published()),
                      static_cast<unsigned long>(adc.ignored()));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  host::start_runtime("sensor-sim");
  host::SimOptions options;
  int exit_code = host::handle_command_line(host::SimKind::kSensor, argc, argv, options);
  if (exit_code < 0) exit_code = run(options);
  host::stop_runtime();
  return exit_code;
}
