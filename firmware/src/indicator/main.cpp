// NodeMCU indicator: its LEDs and followed alerts from platformio.ini's [indicator] (by default
// green on D1 (GPIO5), red on D2 (GPIO4)), optional buzzer on D5 (GPIO14), the on-board FLASH
// button (D3, GPIO0, active low) to acknowledge. All logic is in lib/alertloop; this file only
// wires the hardware (see docs/annunciator.md for the picture).
#include <Arduino.h>

#include <optional>

#include "alertloop/board_config.h"
#include "alertloop/button.h"
#include "alertloop/indicator_app.h"
#include "alertloop/indicator_config.h"
#include "alertloop/led_pattern.h"
#include "alertloop/log.h"
#include "common/board_glue.h"

namespace {

#ifndef ALERTLOOP_LEDS
#define ALERTLOOP_LEDS ""
#endif
#ifndef ALERTLOOP_FOLLOWS
#define ALERTLOOP_FOLLOWS ""
#endif

const uint8_t kBuzzerPin = D5;
const uint8_t kButtonPin = D3;  // FLASH: pulled up on the board, LOW while pressed

alertloop::IndicatorWiring wiring;

class GpioLeds : public alertloop::Leds {
 public:
  void begin() {
    for (uint8_t led = 0; led < wiring.led_count; led++) pinMode(wiring.pins[led], OUTPUT);
  }
  void set(uint8_t led, bool on) override {
    if (led < wiring.led_count) digitalWrite(wiring.pins[led], on ? HIGH : LOW);
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
  char problem[96] = "";
  bool wired = alertloop::parse_indicator_wiring(ALERTLOOP_LEDS, ALERTLOOP_FOLLOWS, wiring,
                                                 problem, sizeof(problem));
  leds.begin();
  buzzer.begin();
  pinMode(kButtonPin, INPUT_PULLUP);
  if (!runner.begin()) return;
  if (!wired) {
    runner.refuse(problem);
    return;
  }

  alertloop::ConnectionManager &connection = runner.connection(network, mqtt_link, "esp8266");
  alertloop::IndicatorSettings settings;
  settings.device_id = runner.device_id();
  wiring.apply(settings);
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
  for (uint8_t led = 0; led < alertloop::kMaxLeds; led++) {
    leds.set(led, alertloop::led_on(led, alertloop::Indication::kUnknown, 1, now));
  }
}
