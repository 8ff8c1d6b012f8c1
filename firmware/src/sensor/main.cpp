// ESP32 sensor: potentiometer on GPIO32 (ADC1) -> sensors/<device>/pot. All logic is in
// lib/alertloop; this file only wires the board's hardware to it.
#include <Arduino.h>

#include <cstdio>

#include "alertloop/board_config.h"
#include "alertloop/connection.h"
#include "alertloop/log.h"
#include "alertloop/sensor_app.h"
#include "common/board_glue.h"

namespace {

const uint8_t kPotPin = 32;

class PotAdc : public alertloop::Adc {
 public:
  uint16_t read_raw() override { return static_cast<uint16_t>(analogRead(kPotPin)); }
};

char device_id[alertloop::kDeviceIdSize];
char status_topic[alertloop::kTopicSize];
char problem[128];
alertloop::ConnectionManager *connection = nullptr;
alertloop::SensorApp *app = nullptr;
uint32_t last_reminder_ms = 0;

}  // namespace

void setup() {
  Serial.begin(board::kSerialBaud);
  alertloop::set_log_sink(board::log_to_serial);
  if (!board::secrets_ok(problem, sizeof(problem))) {
    alertloop::log_line("sensor: not started, %s", problem);
    return;
  }
  analogReadResolution(12);
  analogSetPinAttenuation(kPotPin, ADC_11db);  // full 0-3.3 V range

  static board::ArduinoClock clock;
  static board::NtpWallClock wall_clock;
  static PotAdc adc;
  static board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
  static board::PubSubLink link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));

  board::device_id("esp32", device_id, sizeof(device_id));
  alertloop::format_topic(ALERTLOOP_STATUS_ROOT, device_id, nullptr, status_topic,
                          sizeof(status_topic));
  alertloop::ConnectOptions options{device_id, ALERTLOOP_MQTT_USERNAME, ALERTLOOP_MQTT_PASSWORD,
                                    status_topic, "offline"};
  alertloop::ConnectionSettings connection_settings;
  connection_settings.reboot_after_ms = board::kRebootAfterMs;
  static alertloop::ConnectionManager manager(network, link, options, connection_settings);

  alertloop::SensorSettings settings;
  settings.device_id = device_id;
  settings.sensors_root = ALERTLOOP_SENSORS_ROOT;
  settings.status_root = ALERTLOOP_STATUS_ROOT;
  static alertloop::SensorApp sensor(clock, wall_clock, adc, link, manager, settings);
  if (!sensor.topics_ok()) {
    snprintf(problem, sizeof(problem), "device id or topic root too long");
    alertloop::log_line("sensor: not started, %s", problem);
    return;
  }
  wall_clock.begin();
  connection = &manager;
  app = &sensor;
  alertloop::log_line("sensor: %s publishing on %s", device_id, sensor.reading_topic());
}

void loop() {
  uint32_t now = millis();
  if (app == nullptr) {
    if (now - last_reminder_ms >= board::kConfigReminderMs) {
      last_reminder_ms = now;
      alertloop::log_line("sensor: not started, %s", problem);
    }
    return;
  }
  app->loop();
  if (connection->should_reboot(now)) {
    alertloop::log_line("sensor: offline too long, rebooting");
    ESP.restart();
  }
}
