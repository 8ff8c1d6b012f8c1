// ESP32 sensor: potentiometer on GPIO32 (ADC1) -> sensors/<device>/pot. All logic is in
// lib/alertloop; this file only wires the board's hardware to it.
#include <Arduino.h>

#include <optional>

#include "alertloop/board_config.h"
#include "alertloop/log.h"
#include "alertloop/sensor_app.h"
#include "common/board_glue.h"

namespace {

const uint8_t kPotPin = 32;

class PotAdc : public alertloop::Adc {
 public:
  uint16_t read_raw() override { return static_cast<uint16_t>(analogRead(kPotPin)); }
};

board::Runner runner("sensor");
board::ArduinoClock board_clock;
board::NtpWallClock wall_clock;
PotAdc adc;
board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
board::PubSubLink mqtt_link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));
std::optional<alertloop::SensorApp> app;

}  // namespace

void setup() {
  if (!runner.begin()) return;
  analogReadResolution(12);
  analogSetPinAttenuation(kPotPin, ADC_11db);  // full 0-3.3 V range

  alertloop::ConnectionManager &connection = runner.connection(network, mqtt_link, "esp32");
  alertloop::SensorSettings settings;
  settings.device_id = runner.device_id();
  settings.sensors_root = ALERTLOOP_SENSORS_ROOT;
  alertloop::SensorApp &sensor = app.emplace(board_clock, wall_clock, adc, mqtt_link, connection, settings);
  if (!runner.started(sensor.topics_ok())) return;
  wall_clock.begin();
  sensor.dump_config();
}

void loop() {
  if (runner.keep_running(millis())) app->loop();
}
