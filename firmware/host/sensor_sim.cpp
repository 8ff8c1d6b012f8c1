// sensor-sim: the sensor firmware's logic on Linux against a real broker; stdin lines stand for
// the potentiometer's raw ADC readings.
#include "adc_lines.h"
#include "alertloop/log.h"
#include "alertloop/sensor_app.h"
#include "input_lines.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_runtime.h"

namespace {

const int kTickMs = 5;

int run(const host::SimOptions &options) {
  host::MonotonicClock clock;
  host::SystemWallClock wall_clock;
  host::LineAdc adc;
  host::Stdin input;

  alertloop::SensorSettings settings;
  settings.device_id = options.device_id.c_str();
  settings.sensors_root = ALERTLOOP_SENSORS_ROOT;
  settings.schedule.interval_ms = options.interval_ms;
  host::SimConnection connection(options);
  if (!connection.ok()) return 2;
  host::MosquittoLink &link = connection.link();
  alertloop::SensorApp app(clock, wall_clock, adc, link, connection.manager(), settings);
  connection.manager().dump_config();
  app.dump_config();

  while (!host::stop_requested()) {
    app.loop();
    if (host::wait_for_io(link, input.fd(), kTickMs)) {
      input.read([&adc](const char *data, size_t length) { adc.feed(data, length); });
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
