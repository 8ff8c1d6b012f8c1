// NodeMCU indicator: red LED on D2 (GPIO4), green LED on D1 (GPIO5), optional buzzer on D5
// (GPIO14), the on-board FLASH button (D3, GPIO0, active low) to acknowledge. It follows the
// alert topic, its annunciator state and the webhook's status. All logic is in lib/alertloop;
// this file only wires the hardware (see firmware/README.md for the pictures).
#include <Arduino.h>

#include <optional>

#include "alertloop/board_config.h"
#include "alertloop/button.h"
#include "alertloop/indicator_app.h"
#include "alertloop/led_pattern.h"
#include "alertloop/log.h"
#include "common/board_glue.h"

namespace {

const uint8_t kRedPin = D2;
const uint8_t kGreenPin = D1;
const uint8_t kBuzzerPin = D5;
const uint8_t kButtonPin = D3;  // FLASH: pulled up on the board, LOW while pressed

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

class GpioBuzzer : public alertloop::Buzzer {
 public:
  void begin() { pinMode(kBuzzerPin, OUTPUT); }
  void set(bool on) override { digitalWrite(kBuzzerPin, on ? HIGH : LOW); }
};

GpioLeds leds;
GpioBuzzer buzzer;
board::Runner runner("indicator");
board::ArduinoClock board_clock;
board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
board::PubSubLink mqtt_link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));
alertloop::Debouncer button;
std::optional<alertloop::IndicatorApp> app;

}  // namespace

void setup() {
  leds.begin();
  buzzer.begin();
  pinMode(kButtonPin, INPUT_PULLUP);
  if (!runner.begin()) return;

  alertloop::ConnectionManager &connection = runner.connection(network, mqtt_link, "esp8266");
  alertloop::IndicatorSettings settings;
  settings.device_id = runner.device_id();
  settings.alert_topic = ALERTLOOP_ALERT_TOPIC;
  settings.webhook_status_topic = ALERTLOOP_WEBHOOK_STATUS_TOPIC;
  alertloop::IndicatorApp &indicator =
      app.emplace(board_clock, leds, buzzer, mqtt_link, connection, settings);
  if (!runner.started(indicator.topics_ok())) return;
  mqtt_link.set_sink(&indicator);
  indicator.dump_config();
}

void loop() {
  uint32_t now = millis();
  if (runner.keep_running(now)) {
    if (button.pressed(digitalRead(kButtonPin) == LOW, now)) app->press();
    app->loop();
    return;
  }
  // Not started: blink the unknown pattern (keep_running() repeats why on the serial monitor).
  leds.set(alertloop::led_on(alertloop::Led::kRed, alertloop::Indication::kUnknown, now),
           alertloop::led_on(alertloop::Led::kGreen, alertloop::Indication::kUnknown, now));
}
