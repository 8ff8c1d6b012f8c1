#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "alertloop/indicator_app.h"
#include "alertloop/log.h"
#include "alertloop/sensor_app.h"
#include "fakes.h"

using namespace alertloop;

namespace {

std::vector<std::string> captured_log;

struct SensorRig {
  fakes::Clock clock;
  fakes::WallClock wall_clock;
  fakes::Adc adc;
  fakes::Network network;
  fakes::Mqtt mqtt;
  ConnectionManager connection{network, mqtt, {"esp32-a1b2c3", "", "", "status"}, ConnectionSettings{}};
  SensorSettings settings;
  SensorApp app;

  SensorRig() : app(clock, wall_clock, adc, mqtt, connection, make_settings()) {}
  static SensorSettings make_settings() {
    SensorSettings s;
    s.device_id = "esp32-a1b2c3";
    s.sensors_root = "sensors";
    return s;
  }
  // Runs loop() every ms for `ms` milliseconds.
  void run(uint32_t ms) {
    for (uint32_t i = 0; i < ms; i++) {
      app.loop();
      clock.now++;
    }
  }
  std::vector<std::string> readings() const { return mqtt.payloads_on("sensors/esp32-a1b2c3/pot"); }
};

double value_of(const std::string &payload) {
  return std::stod(payload.substr(strlen("{\"value\":")));
}

}  // namespace

TEST_CASE("sensor: online is published retained on connect, and the first reading at once") {
  SensorRig rig;
  rig.adc.value = 2048;
  rig.run(1);
  REQUIRE(rig.mqtt.published.size() == 2);
  CHECK(rig.mqtt.published[0].topic == "status/esp32-a1b2c3");
  CHECK(rig.mqtt.published[0].payload == "online");
  CHECK(rig.mqtt.published[0].retain);
  CHECK(rig.mqtt.published[1].payload == R"({"value":50,"seq":0})");
  CHECK_FALSE(rig.mqtt.published[1].retain);
}

TEST_CASE("sensor: a steady pot is published every 500 ms with increasing seq") {
  SensorRig rig;
  rig.adc.value = 1000;
  rig.run(1501);
  auto readings = rig.readings();
  REQUIRE(readings.size() == 4);  // at 0, 500, 1000, 1500 ms
  CHECK(readings[3].find("\"seq\":3") != std::string::npos);
}

TEST_CASE("sensor: a step from 0 to full scale is published as >= 75 within 300 ms") {
  SensorRig rig;
  rig.adc.value = 0;
  rig.run(1000);
  size_t before = rig.readings().size();
  rig.adc.value = 4095;
  uint32_t elapsed = 0;
  bool seen = false;
  while (!seen && elapsed < 300) {
    rig.run(1);
    elapsed++;
    auto readings = rig.readings();
    seen = readings.size() > before && value_of(readings.back()) >= 75;
  }
  CHECK(seen);
  MESSAGE("step published as >= 75 after " << elapsed << " ms of simulated time");
  rig.run(1000);  // the periodic publish carries the settled value
  CHECK(value_of(rig.readings().back()) == 100);
}

TEST_CASE("sensor: ts is added once the wall clock is set") {
  SensorRig rig;
  rig.adc.value = 0;
  rig.run(1);
  rig.wall_clock.set = true;
  rig.wall_clock.value = 1700000000000ull;
  rig.run(500);
  auto readings = rig.readings();
  CHECK(readings.front().find("\"ts\"") == std::string::npos);
  CHECK(readings.back() == R"({"value":0,"seq":1,"ts":1700000000000})");
}

TEST_CASE("sensor: nothing is published while disconnected, and online again on reconnect") {
  SensorRig rig;
  rig.adc.value = 0;
  rig.run(10);
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  size_t before = rig.mqtt.published.size();
  rig.run(2000);
  CHECK(rig.mqtt.published.size() == before);
  rig.mqtt.accept = true;
  rig.run(2000);
  CHECK(rig.mqtt.payloads_on("status/esp32-a1b2c3") ==
        std::vector<std::string>{"online", "online"});
}

namespace {

struct IndicatorRig {
  fakes::Clock clock;
  fakes::Leds leds;
  fakes::Network network;
  fakes::Mqtt mqtt;
  fakes::Buzzer buzzer;
  ConnectionManager connection{network, mqtt, {"esp8266-d1d2d3", "", "", "status"}, ConnectionSettings{}};
  IndicatorApp app;

  explicit IndicatorRig(const char *alert_topic = "alerts/pot-high")
      : app(clock, leds, buzzer, mqtt, connection, make_settings(alert_topic)) {}
  static IndicatorSettings make_settings(const char *alert_topic) {
    IndicatorSettings s;
    s.device_id = "esp8266-d1d2d3";
    s.alert_topic = alert_topic;
    s.webhook_status_topic = "status/webhook";
    return s;
  }
  void deliver(const char *topic, const char *payload) {
    app.on_message(topic, reinterpret_cast<const uint8_t *>(payload), strlen(payload));
    tick();
  }
  // Every tick the webhook's heartbeat arrives, unless a test stops it.
  void tick() {
    if (heartbeat) {
      const char *online = "online";
      app.on_message("status/webhook", reinterpret_cast<const uint8_t *>(online), strlen(online));
    }
    app.loop();
    clock.now += 10;
  }
  // Connected, subscribed, and the webhook live: the first status after subscribing (perhaps the
  // broker's saved copy) is not trusted, the next one is.
  void start() {
    for (int i = 0; i < 3; i++) tick();
  }
  Indication shown() const { return app.display().indication; }
  bool heartbeat = true;
};

}  // namespace

TEST_CASE("indicator: subscribes to the alert and the webhook status on every connect") {
  IndicatorRig rig;
  rig.start();
  // The annunciator state first, so its retained message arrives before the 1/0 one.
  CHECK(rig.mqtt.subscribed == std::vector<std::string>{"alerts/pot-high/annunciator",
                                                        "alerts/pot-high", "status/webhook"});
  CHECK(rig.mqtt.payloads_on("status/esp8266-d1d2d3") == std::vector<std::string>{"online"});
  rig.mqtt.link = LinkState::kDisconnected;
  rig.tick();
  rig.clock.now += 1000;
  rig.tick();
  CHECK(rig.mqtt.subscribed.size() == 6);
}

TEST_CASE("indicator: unknown, red, green, unknown on bad payload, webhook offline, link lost") {
  IndicatorRig rig;
  rig.start();
  CHECK(rig.shown() == Indication::kUnknown);
  CHECK(rig.app.display().reason == UnknownReason::kNoState);
  rig.deliver("alerts/pot-high", "1");
  CHECK(rig.shown() == Indication::kRed);
  CHECK(rig.leds.red());
  CHECK_FALSE(rig.leds.green());
  rig.deliver("alerts/pot-high", "0");
  CHECK(rig.shown() == Indication::kGreen);
  rig.deliver("alerts/other", "1");
  CHECK(rig.shown() == Indication::kGreen);
  rig.deliver("alerts/pot-high", "maybe");
  CHECK(rig.app.display().reason == UnknownReason::kBadPayload);
  rig.deliver("alerts/pot-high", "1");
  rig.heartbeat = false;
  rig.deliver("status/webhook", "offline");
  CHECK(rig.app.display().reason == UnknownReason::kWebhookOffline);
  rig.deliver("status/webhook", "online");
  CHECK(rig.shown() == Indication::kRed);
  rig.heartbeat = true;
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  rig.tick();
  CHECK(rig.app.display().reason == UnknownReason::kBrokerUnreachable);
  // Back online, the old state is not trusted until the retained one arrives again.
  rig.mqtt.accept = true;
  rig.clock.now += 1000;
  rig.start();
  CHECK(rig.app.display().reason == UnknownReason::kNoState);
}

TEST_CASE("indicator: only a live webhook status vouches for the colour, and only for 15 s") {
  IndicatorRig rig;
  rig.heartbeat = false;
  rig.tick();  // connects and subscribes
  rig.deliver("alerts/pot-high/annunciator", "acked");
  rig.deliver("status/webhook", "online");  // the first one: perhaps the broker's saved copy
  CHECK(rig.app.display().reason == UnknownReason::kWebhookNotHeard);
  rig.deliver("status/webhook", "online");  // a heartbeat: live
  CHECK(rig.shown() == Indication::kRed);
  rig.clock.now += kLiveWindowMs - 20;
  rig.tick();
  CHECK(rig.shown() == Indication::kRed);
  rig.clock.now += 20;
  rig.tick();
  CHECK(rig.app.display().reason == UnknownReason::kWebhookSilent);
  rig.deliver("status/webhook", "online");
  CHECK(rig.shown() == Indication::kRed);
  // After a reconnect the first message is again not trusted, but a retained offline is.
  rig.mqtt.link = LinkState::kDisconnected;
  rig.tick();
  rig.clock.now += 1000;
  rig.tick();
  rig.deliver("alerts/pot-high/annunciator", "acked");
  rig.deliver("status/webhook", "online");
  CHECK(rig.app.display().reason == UnknownReason::kWebhookNotHeard);
  rig.mqtt.link = LinkState::kDisconnected;
  rig.tick();
  rig.clock.now += 1000;
  rig.tick();
  rig.deliver("status/webhook", "offline");
  CHECK(rig.app.display().reason == UnknownReason::kWebhookOffline);
}

TEST_CASE("indicator: the LEDs blink the unknown pattern as time passes") {
  IndicatorRig rig;
  rig.start();
  rig.clock.now = 0;
  rig.tick();
  CHECK(rig.leds.red());
  CHECK_FALSE(rig.leds.green());
  rig.clock.now = 1000;
  rig.tick();
  CHECK_FALSE(rig.leds.red());
  CHECK(rig.leds.green());
}

TEST_CASE("indicator: a payload that is not null-terminated is read by its length") {
  IndicatorRig rig;
  rig.start();
  const uint8_t payload[] = {'0', '1', '1'};
  rig.app.on_message("alerts/pot-high", payload, 1);
  rig.tick();
  CHECK(rig.shown() == Indication::kGreen);
}

TEST_CASE("indicator: follows the annunciator state, which wins over 1/0, through a whole sequence") {
  IndicatorRig rig;
  rig.start();
  struct Step {
    const char *topic;
    const char *payload;
    Indication shown;
  } steps[] = {
      {"alerts/pot-high", "0", Indication::kGreen},  // an older webhook: fallback
      {"alerts/pot-high/annunciator", "normal", Indication::kGreen},
      {"alerts/pot-high", "1", Indication::kGreen},  // the annunciator state is not there yet
      {"alerts/pot-high/annunciator", "unacked", Indication::kRedFlashing},
      {"alerts/pot-high/annunciator", "acked", Indication::kRed},
      {"alerts/pot-high", "0", Indication::kRed},
      {"alerts/pot-high/annunciator", "normal", Indication::kGreen},
      {"alerts/pot-high/annunciator", "unacked", Indication::kRedFlashing},
      {"alerts/pot-high/annunciator", "cleared-unacked", Indication::kGreenFlashing},
      {"alerts/pot-high/annunciator", "sideways", Indication::kUnknown},
      {"alerts/pot-high/annunciator", "", Indication::kGreen},  // deleted: back to 1/0
  };
  for (const auto &step : steps) {
    CAPTURE(step.topic);
    CAPTURE(step.payload);
    rig.deliver(step.topic, step.payload);
    CHECK(rig.shown() == step.shown);
  }
}

TEST_CASE("indicator: the LEDs flash and the buzzer beeps while unacked, and stop once acked") {
  IndicatorRig rig;
  rig.start();
  rig.deliver("alerts/pot-high/annunciator", "unacked");
  rig.clock.now = 10000;
  rig.tick();
  CHECK(rig.leds.red());
  CHECK(rig.buzzer.on);
  rig.clock.now = 10300;
  rig.tick();
  CHECK_FALSE(rig.leds.red());
  CHECK_FALSE(rig.leds.green());
  CHECK_FALSE(rig.buzzer.on);
  rig.deliver("alerts/pot-high/annunciator", "acked");
  for (uint32_t t = 20000; t < 21000; t += 50) {
    rig.clock.now = t;
    rig.tick();
    CHECK(rig.leds.red());
    CHECK_FALSE(rig.buzzer.on);
  }
}

TEST_CASE("indicator: a press acknowledges what flashes, with the device id, QoS 1, not retained") {
  struct Case {
    const char *name;
    const char *annunciator;  // nullptr: none published (older webhook)
    const char *alert;
    PressResult result;
  } cases[] = {
      {"unacked", "unacked", "1", PressResult::kSent},
      {"cleared-unacked", "cleared-unacked", "0", PressResult::kSent},
      {"acked: nothing to do", "acked", "1", PressResult::kNothingToAcknowledge},
      {"normal: nothing to do", "normal", "0", PressResult::kNothingToAcknowledge},
      {"fallback red: nothing to acknowledge", nullptr, "1", PressResult::kNothingToAcknowledge},
      {"unknown: nothing to acknowledge", "sideways", "1", PressResult::kNothingToAcknowledge},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    IndicatorRig rig;
    rig.start();
    rig.deliver("alerts/pot-high", c.alert);
    if (c.annunciator != nullptr) rig.deliver("alerts/pot-high/annunciator", c.annunciator);
    CHECK(rig.app.press() == c.result);
    auto acks = rig.mqtt.payloads_on("alerts/pot-high/ack/esp8266-d1d2d3");
    if (c.result == PressResult::kSent) {
      REQUIRE(acks == std::vector<std::string>{"esp8266-d1d2d3"});
      const auto &sent = rig.mqtt.published.back();
      CHECK(sent.qos == 1);
      CHECK_FALSE(sent.retain);
    } else {
      CHECK(acks.empty());
    }
  }
}

TEST_CASE("indicator: a press when the link dropped since the last loop() says to press again") {
  IndicatorRig rig;
  rig.start();
  rig.deliver("alerts/pot-high/annunciator", "unacked");
  rig.mqtt.link = LinkState::kDisconnected;
  CHECK(rig.app.press() == PressResult::kNotSent);
  CHECK(rig.mqtt.payloads_on("alerts/pot-high/ack/esp8266-d1d2d3").empty());
}

TEST_CASE("indicator: a press while the broker is unreachable sends nothing") {
  IndicatorRig rig;
  rig.start();
  rig.deliver("alerts/pot-high/annunciator", "unacked");
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  rig.tick();
  CHECK(rig.shown() == Indication::kUnknown);
  CHECK(rig.app.press() == PressResult::kNothingToAcknowledge);
  CHECK(rig.mqtt.payloads_on("alerts/pot-high/ack/esp8266-d1d2d3").empty());
}

TEST_CASE("indicator: the configuration dump names the topics and what is known") {
  std::vector<std::string> &lines = captured_log;
  lines.clear();
  set_log_sink([](const char *line) { captured_log.push_back(line); });
  IndicatorRig rig;
  rig.start();
  rig.deliver("alerts/pot-high", "1");
  rig.deliver("alerts/pot-high/annunciator", "acked");
  rig.app.dump_config();
  rig.connection.dump_config();
  set_log_sink(nullptr);
  auto has = [&lines](const std::string &text) {
    for (const auto &line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(has("alerts/pot-high/annunciator"));
  CHECK(has("alerts/pot-high/ack/esp8266-d1d2d3"));
  CHECK(has("alert firing, annunciator acked, webhook live"));
  CHECK(has("keepalive 5 s"));
  CHECK(has("status/esp8266-d1d2d3"));
  CHECK(has("mqtt: connected"));
}

TEST_CASE("indicator: a device's own alert is acknowledged under it, with the sender's id last") {
  IndicatorRig rig("alerts/pot-high/esp32-a1b2c3");
  CHECK(std::string(rig.app.ack_topic()) == "alerts/pot-high/esp32-a1b2c3/ack/esp8266-d1d2d3");
}

#include "alertloop/indicator_config.h"

TEST_CASE("indicator wiring: LEDs and followed alerts from platformio.ini's text") {
  IndicatorWiring wiring;
  char problem[96] = "";
  REQUIRE(parse_indicator_wiring("red:4, green:5, yellow:13",
                                 "alerts/pot-high:red:1, alerts/temp-high:yellow:2", wiring,
                                 problem, sizeof(problem)));
  CHECK(wiring.led_count == 3);
  CHECK(std::string(wiring.names[0]) == "green");
  CHECK(wiring.pins[0] == 5);
  CHECK(std::string(wiring.names[1]) == "red");
  CHECK(wiring.pins[2] == 13);
  CHECK(wiring.follow_count == 2);
  CHECK(std::string(wiring.follows[1].topic) == "alerts/temp-high");
  CHECK(wiring.follows[1].led == 2);
  CHECK(wiring.follows[1].priority == 2);
  REQUIRE(parse_indicator_wiring("green:5,red:4", "alerts/pot-high:red", wiring, problem,
                                 sizeof(problem)));
  CHECK(wiring.follows[0].priority == 1);
  struct Case {
    const char *leds, *follows, *problem;
  } bad[] = {
      {"red:4", "alerts/a:red", "leds"},
      {"green:5", "alerts/a:red", "leds"},
      {"green:5,red:x", "alerts/a:red", "leds"},
      {"green:5,red:4,red:6", "alerts/a:red", "leds"},
      {"green:5,red:4", "", "follows"},
      {"green:5,red:4", "alerts/a:green", "follows"},
      {"green:5,red:4", "alerts/a:blue", "follows"},
      {"green:5,red:4", "alerts/#:red", "follows"},
      {"green:5,red:4", "alerts/a:red:x", "follows"},
  };
  for (const auto &c : bad) {
    CAPTURE(c.leds);
    CAPTURE(c.follows);
    CHECK_FALSE(parse_indicator_wiring(c.leds, c.follows, wiring, problem, sizeof(problem)));
    CHECK(std::string(problem).rfind(c.problem, 0) == 0);
  }
}

TEST_CASE("indicator: several alerts; the highest-priority active one shows, in its colour, and "
          "the button acknowledges that one") {
  fakes::Clock clock;
  fakes::Leds leds;
  fakes::Network network;
  fakes::Mqtt mqtt;
  fakes::Buzzer buzzer;
  ConnectionManager connection{network, mqtt, {"esp8266-d1d2d3", "", "", "status"},
                               ConnectionSettings{}};
  IndicatorWiring wiring;
  char problem[96] = "";
  REQUIRE(parse_indicator_wiring("green:5, red:4, yellow:13",
                                 "alerts/pot-high:red:1, alerts/temp-high:yellow:2", wiring,
                                 problem, sizeof(problem)));
  IndicatorSettings settings;
  settings.device_id = "esp8266-d1d2d3";
  settings.webhook_status_topic = "status/webhook";
  wiring.apply(settings);
  IndicatorApp app(clock, leds, buzzer, mqtt, connection, settings);
  REQUIRE(app.topics_ok());
  auto deliver = [&](const char *topic, const char *payload) {
    app.on_message(topic, reinterpret_cast<const uint8_t *>(payload), strlen(payload));
    app.loop();
    clock.now += 10;
  };
  app.loop();
  deliver("status/webhook", "online");
  deliver("status/webhook", "online");
  CHECK(mqtt.subscribed == std::vector<std::string>{"alerts/pot-high/annunciator",
                                                    "alerts/pot-high",
                                                    "alerts/temp-high/annunciator",
                                                    "alerts/temp-high", "status/webhook"});
  deliver("alerts/pot-high/annunciator", "normal");
  deliver("alerts/temp-high/annunciator", "normal");
  CHECK(std::string(app.shown_name()) == "green");
  deliver("alerts/pot-high/annunciator", "acked");
  CHECK(std::string(app.shown_name()) == "red");
  CHECK(leds.lit[1]);
  CHECK_FALSE(leds.lit[2]);
  deliver("alerts/temp-high/annunciator", "unacked");  // higher priority: it shows
  CHECK(std::string(app.shown_name()) == "yellow-flashing");
  CHECK(app.shown_follow() == 1);
  CHECK(app.press() == PressResult::kSent);
  CHECK(mqtt.payloads_on("alerts/temp-high/ack/esp8266-d1d2d3").size() == 1);
  CHECK(mqtt.payloads_on("alerts/pot-high/ack/esp8266-d1d2d3").empty());
  deliver("alerts/temp-high/annunciator", "normal");
  CHECK(std::string(app.shown_name()) == "red");
  deliver("alerts/temp-high/annunciator", "sideways");  // a doubt does not hide an active alarm
  CHECK(std::string(app.shown_name()) == "red");
  deliver("alerts/pot-high/annunciator", "normal");
  CHECK(std::string(app.shown_name()) == "unknown");
}

TEST_CASE("the shipped [indicator] settings are ones the board accepts: green and red, one alert") {
  IndicatorWiring wiring;
  char problem[96] = "";
  REQUIRE(parse_indicator_wiring(SHIPPED_LEDS, SHIPPED_FOLLOWS, wiring, problem, sizeof(problem)));
  CHECK(wiring.led_count == 2);
  CHECK(wiring.follow_count == 1);
  CHECK(std::string(wiring.follows[0].topic) == "alerts/pot-high");
}
