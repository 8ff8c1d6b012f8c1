// NodeMCU indicator: red LED on D2 (GPIO4), green LED on D1 (GPIO5), following the alert topic
// and the webhook's status. All logic is in lib/alertloop; this file only wires the hardware.
#include <Arduino.h>

#include <cstdio>

#include "alertloop/board_config.h"
#include "alertloop/connection.h"
#include "alertloop/indicator_app.h"
#include "alertloop/led_pattern.h"
#include "alertloop/log.h"
#include "common/board_glue.h"

namespace {

const uint8_t kRedPin = D2;
const uint8_t kGreenPin = D1;

class GpioLeds : public alertloop::Leds {
 public:
  void begin() {
    pinMode(kRedPin, OUTPUT);
    pinMode(kGreenPin, OUTPUT);
  }
  void set(bool red, bool green) override {
    digitalWrite(kRedPin, red ? HIGH : LOW);
    digitalWrite(kGreenPin, green ? HIGH : LOW);
  }
};

GpioLeds leds;
char device_id[alertloop::kDeviceIdSize];
char status_topic[alertloop::kTopicSize];
char problem[128];
alertloop::ConnectionManager *connection = nullptr;
alertloop::IndicatorApp *app = nullptr;
uint32_t last_reminder_ms = 0;

}  // namespace

void setup() {
  Serial.begin(board::kSerialBaud);
  alertloop::set_log_sink(board::log_to_serial);
  leds.begin();
  if (!board::secrets_ok(problem, sizeof(problem))) {
    alertloop::log_line("indicator: not started, %s", problem);
    return;
  }

  static board::ArduinoClock clock;
  static board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
  static board::PubSubLink link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));

  board::device_id("esp8266", device_id, sizeof(device_id));
  alertloop::format_topic(ALERTLOOP_STATUS_ROOT, device_id, nullptr, status_topic,
                          sizeof(status_topic));
  alertloop::ConnectOptions options{device_id, ALERTLOOP_MQTT_USERNAME, ALERTLOOP_MQTT_PASSWORD,
                                    status_topic, "offline"};
  alertloop::ConnectionSettings connection_settings;
  connection_settings.reboot_after_ms = board::kRebootAfterMs;
  static alertloop::ConnectionManager manager(network, link, options, connection_settings);

  alertloop::IndicatorSettings settings;
  settings.device_id = device_id;
  settings.status_root = ALERTLOOP_STATUS_ROOT;
  settings.alert_topic = ALERTLOOP_ALERT_TOPIC;
  settings.webhook_status_topic = ALERTLOOP_WEBHOOK_STATUS_TOPIC;
  static alertloop::IndicatorApp indicator(clock, leds, link, manager, settings);
  if (!indicator.topics_ok()) {
    snprintf(problem, sizeof(problem), "device id or topic root too long");
    alertloop::log_line("indicator: not started, %s", problem);
    return;
  }
  link.set_sink(&indicator);
  connection = &manager;
  app = &indicator;
  alertloop::log_line("indicator: %s following %s", device_id, ALERTLOOP_ALERT_TOPIC);
}

void loop() {
  uint32_t now = millis();
  if (app == nullptr) {
    // Not configured: blink the unknown pattern and repeat why on the serial monitor.
    leds.set(alertloop::led_on(alertloop::Led::kRed, alertloop::Indication::kUnknown, now),
             alertloop::led_on(alertloop::Led::kGreen, alertloop::Indication::kUnknown, now));
    if (now - last_reminder_ms >= board::kConfigReminderMs) {
      last_reminder_ms = now;
      alertloop::log_line("indicator: not started, %s", problem);
    }
    return;
  }
  app->loop();
  if (connection->should_reboot(now)) {
    alertloop::log_line("indicator: offline too long, rebooting");
    ESP.restart();
  }
}
