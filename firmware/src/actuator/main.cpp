// Actuator board (ESP32 or ESP8266): relays on the GPIOs of platformio.ini's [actuator] section,
// each with an optional feedback contact (an auxiliary contact to GND, read with the pull-up:
// closed = LOW by default), commanded on actuators/<device>/<n>/set. All logic is in
// lib/alertloop (actuator_app.h); this file only wires the hardware (docs/boards.md, wiring
// picture in docs/actuator-wiring.svg).
#include <Arduino.h>

#include <optional>

#include "alertloop/actuator_app.h"
#include "alertloop/actuator_config.h"
#include "alertloop/board_config.h"
#include "alertloop/log.h"
#include "common/board_glue.h"

#ifndef ALERTLOOP_RELAY_PINS
#define ALERTLOOP_RELAY_PINS ""
#endif
#ifndef ALERTLOOP_RELAYS_ACTIVE_LOW
#define ALERTLOOP_RELAYS_ACTIVE_LOW "0"
#endif
#ifndef ALERTLOOP_FEEDBACK_PINS
#define ALERTLOOP_FEEDBACK_PINS ""
#endif
#ifndef ALERTLOOP_FEEDBACK_ACTIVE_LOW
#define ALERTLOOP_FEEDBACK_ACTIVE_LOW "1"
#endif
#ifndef ALERTLOOP_SAFE_STATES
#define ALERTLOOP_SAFE_STATES "off"
#endif
#ifndef ALERTLOOP_FAILSAFE_S
#define ALERTLOOP_FAILSAFE_S "30"
#endif

namespace {

#if defined(ESP32)
const char *const kMacPrefix = "esp32";
#else
const char *const kMacPrefix = "esp8266";
#endif

bool flag_on(const char *text) { return text[0] == '1' || text[0] == 't' || text[0] == 'y'; }

class GpioRelays : public alertloop::Relays {
 public:
  explicit GpioRelays(const alertloop::RelayWiring &wiring) : wiring_(wiring) {}
  void begin() {
    for (uint8_t i = 0; i < wiring_.count; i++) {
      pinMode(wiring_.relay_pins[i], OUTPUT);
      if (wiring_.feedback_pins[i] != alertloop::kNoPin) {
        pinMode(wiring_.feedback_pins[i], INPUT_PULLUP);
      }
    }
  }
  void drive(uint8_t relay, bool on) override {
    bool level = on != relays_active_low_;
    digitalWrite(wiring_.relay_pins[relay - 1], level ? HIGH : LOW);
  }
  bool feedback(uint8_t relay, bool &on) override {
    int pin = wiring_.feedback_pins[relay - 1];
    if (pin == alertloop::kNoPin) return false;
    on = (digitalRead(pin) == HIGH) != feedback_active_low_;
    return true;
  }

 private:
  const alertloop::RelayWiring &wiring_;
  bool relays_active_low_ = flag_on(ALERTLOOP_RELAYS_ACTIVE_LOW);
  bool feedback_active_low_ = flag_on(ALERTLOOP_FEEDBACK_ACTIVE_LOW);
};

alertloop::RelayWiring wiring;
GpioRelays relays(wiring);
board::Runner runner("actuator");
board::ArduinoClock board_clock;
board::WifiNetwork network(ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD);
board::PubSubLink mqtt_link(ALERTLOOP_MQTT_HOST, alertloop::parse_port(ALERTLOOP_MQTT_PORT));
std::optional<alertloop::ActuatorApp> app;

}  // namespace

void setup() {
  char problem[96] = "";
  bool wired = alertloop::parse_relay_wiring(ALERTLOOP_RELAY_PINS, ALERTLOOP_FEEDBACK_PINS,
                                             ALERTLOOP_SAFE_STATES, wiring, problem,
                                             sizeof(problem));
  if (!runner.begin()) return;
  uint16_t failsafe_s = alertloop::parse_port(ALERTLOOP_FAILSAFE_S);  // 1-65535
  if (!wired || failsafe_s == 0) {
    runner.refuse(wired ? "failsafe_s: 1-65535 seconds" : problem);
    return;
  }
  relays.begin();

  alertloop::ConnectionManager &connection = runner.connection(network, mqtt_link, kMacPrefix);
  alertloop::ActuatorSettings settings;
  settings.device_id = runner.device_id();
  settings.actuators_root = ALERTLOOP_ACTUATORS_ROOT;
  settings.actions_status_topic = ALERTLOOP_ACTIONS_STATUS_TOPIC;
  settings.relays = wiring.count;
  settings.failsafe_ms = failsafe_s * 1000UL;
  for (uint8_t i = 0; i < wiring.count; i++) settings.safe[i] = wiring.safe[i];
  alertloop::ActuatorApp &actuator = app.emplace(board_clock, relays, mqtt_link, connection, settings);
  if (!runner.started(actuator.topics_ok())) return;
  mqtt_link.set_sink(&actuator);
  actuator.dump_config();
}

void loop() {
  // Not started (keep_running() repeats why): the relays were never driven (GPIO default).
  if (runner.keep_running(millis())) app->loop();
}
