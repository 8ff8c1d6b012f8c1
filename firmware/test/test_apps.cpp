#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "alertloop/indicator_app.h"
#include "alertloop/sensor_app.h"
#include "fakes.h"

using namespace alertloop;

namespace {

struct SensorRig {
  fakes::Clock clock;
  fakes::WallClock wall_clock;
  fakes::Adc adc;
  fakes::Network network;
  fakes::Mqtt mqtt;
  ConnectOptions options{"esp32-a1b2c3", "", "", "status/esp32-a1b2c3", "offline"};
  ConnectionManager connection{network, mqtt, options, ConnectionSettings{}};
  SensorSettings settings;
  SensorApp app;

  SensorRig() : app(clock, wall_clock, adc, mqtt, connection, make_settings()) {}
  static SensorSettings make_settings() {
    SensorSettings s;
    s.device_id = "esp32-a1b2c3";
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
  ConnectOptions options{"esp8266-d1d2d3", "", "", "status/esp8266-d1d2d3", "offline"};
  ConnectionManager connection{network, mqtt, options, ConnectionSettings{}};
  IndicatorApp app;

  IndicatorRig() : app(clock, leds, mqtt, connection, make_settings()) {}
  static IndicatorSettings make_settings() {
    IndicatorSettings s;
    s.device_id = "esp8266-d1d2d3";
    return s;
  }
  void deliver(const char *topic, const char *payload) {
    app.on_message(topic, reinterpret_cast<const uint8_t *>(payload), strlen(payload));
    tick();
  }
  void tick() {
    app.loop();
    clock.now += 10;
  }
  Indication shown() const { return app.display().indication; }
};

}  // namespace

TEST_CASE("indicator: subscribes to the alert and the webhook status on every connect") {
  IndicatorRig rig;
  rig.tick();
  CHECK(rig.mqtt.subscribed == std::vector<std::string>{"alerts/pot-high", "status/webhook"});
  CHECK(rig.mqtt.payloads_on("status/esp8266-d1d2d3") == std::vector<std::string>{"online"});
  rig.mqtt.link = LinkState::kDisconnected;
  rig.tick();
  rig.clock.now += 1000;
  rig.tick();
  CHECK(rig.mqtt.subscribed.size() == 4);
}

TEST_CASE("indicator: unknown, red, green, unknown on bad payload, webhook offline, link lost") {
  IndicatorRig rig;
  rig.tick();
  CHECK(rig.shown() == Indication::kUnknown);
  CHECK(rig.app.display().reason == UnknownReason::kNoState);
  rig.deliver("alerts/pot-high", "1");
  CHECK(rig.shown() == Indication::kRed);
  CHECK(rig.leds.red);
  CHECK_FALSE(rig.leds.green);
  rig.deliver("alerts/pot-high", "0");
  CHECK(rig.shown() == Indication::kGreen);
  rig.deliver("alerts/other", "1");
  CHECK(rig.shown() == Indication::kGreen);
  rig.deliver("alerts/pot-high", "maybe");
  CHECK(rig.app.display().reason == UnknownReason::kBadPayload);
  rig.deliver("alerts/pot-high", "1");
  rig.deliver("status/webhook", "offline");
  CHECK(rig.app.display().reason == UnknownReason::kWebhookOffline);
  rig.deliver("status/webhook", "online");
  CHECK(rig.shown() == Indication::kRed);
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  rig.tick();
  CHECK(rig.app.display().reason == UnknownReason::kBrokerUnreachable);
  // Back online, the old state is not trusted until the retained one arrives again.
  rig.mqtt.accept = true;
  rig.clock.now += 1000;
  rig.tick();
  CHECK(rig.app.display().reason == UnknownReason::kNoState);
}

TEST_CASE("indicator: the LEDs blink the unknown pattern as time passes") {
  IndicatorRig rig;
  rig.tick();
  rig.clock.now = 0;
  rig.tick();
  CHECK(rig.leds.red);
  CHECK_FALSE(rig.leds.green);
  rig.clock.now = 1000;
  rig.tick();
  CHECK_FALSE(rig.leds.red);
  CHECK(rig.leds.green);
}

TEST_CASE("indicator: a payload that is not null-terminated is read by its length") {
  IndicatorRig rig;
  rig.tick();
  const uint8_t payload[] = {'0', '1', '1'};
  rig.app.on_message("alerts/pot-high", payload, 1);
  rig.tick();
  CHECK(rig.shown() == Indication::kGreen);
}
