// NodeMCU indicator: red LED on D2 (GPIO4), green LED on D1 (GPIO5), following the alert topic
// and the webhook's status. All logic is in lib/alertloop; this file only wires the hardware.
#include <Arduino.h>

#include "alertloop/board_config.h"
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
board::Runner runner("indicator");
alertloop::IndicatorApp *app = nullptr;

}  // namespace

void setup() {
  leds.begin();
  if (!runner.begin()) return;

  static board::ArduinoClock clock;
  static board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
  static board::PubSubLink link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));
  alertloop::ConnectionManager &connection = runner.connection(network, link, "esp8266");

  alertloop::IndicatorSettings settings;
  settings.device_id = runner.device_id();
  settings.status_root = ALERTLOOP_STATUS_ROOT;
  settings.alert_topic = ALERTLOOP_ALERT_TOPIC;
  settings.webhook_status_topic = ALERTLOOP_WEBHOOK_STATUS_TOPIC;
  static alertloop::IndicatorApp indicator(clock, leds, link, connection, settings);
  if (!runner.started(indicator.topics_ok())) return;
  link.set_sink(&indicator);
  app = &indicator;
  alertloop::log_line("indicator: %s following %s", runner.device_id(), ALERTLOOP_ALERT_TOPIC);
}

void loop() {
  uint32_t now = millis();
  if (runner.keep_running(now)) {
    app->loop();
    return;
  }
  // Not started: blink the unknown pattern (keep_running() repeats why on the serial monitor).
  leds.set(alertloop::led_on(alertloop::Led::kRed, alertloop::Indication::kUnknown, now),
           alertloop::led_on(alertloop::Led::kGreen, alertloop::Indication::kUnknown, now));
}
