// Test doubles of the hardware interfaces: time moves only when a test says so.
#pragma once

#include <string>
#include <vector>

#include "alertloop/hal.h"

namespace fakes {

struct Clock : alertloop::Clock {
  uint32_t now = 0;
  uint32_t millis() override { return now; }
};

struct WallClock : alertloop::WallClock {
  bool set = false;
  uint64_t value = 0;
  bool epoch_ms(uint64_t &out) override {
    out = value;
    return set;
  }
};

struct Adc : alertloop::Adc {
  uint16_t value = 0;
  uint16_t read_raw() override { return value; }
};

struct Network : alertloop::Network {
  bool up = true;
  int begins = 0;
  void begin() override { begins++; }
  bool connected() override { return up; }
};

struct Leds : alertloop::Leds {
  bool lit[4] = {};  // 0 green, 1 red, then further alarm colours
  void set(uint8_t led, bool on) override { lit[led] = on; }
  bool green() const { return lit[0]; }
  bool red() const { return lit[1]; }
};

struct Buzzer : alertloop::Buzzer {
  bool on = false;
  void set(bool value) override { on = value; }
};

struct Published {
  std::string topic;
  std::string payload;
  bool retain;
  uint8_t qos;
};

// A broker link whose answers the test sets: `accept` decides whether connect() succeeds,
// `async` whether it first goes through kConnecting.
struct Mqtt : alertloop::MqttLink {
  bool accept = true;
  bool async = false;
  uint32_t blocking_ms = 0;  // what blocking_connect_timeout_ms() says
  int connects = 0;
  int disconnects = 0;
  std::string client_id, will_topic, will_payload;
  alertloop::LinkState link = alertloop::LinkState::kDisconnected;
  std::vector<Published> published;
  std::vector<std::string> subscribed;
  alertloop::MessageSink *sink = nullptr;

  bool connect(const alertloop::ConnectOptions &options) override {
    connects++;
    client_id = options.client_id;
    will_topic = options.will_topic;
    will_payload = options.will_payload;
    if (!accept) return false;
    link = async ? alertloop::LinkState::kConnecting : alertloop::LinkState::kConnected;
    return true;
  }
  uint32_t blocking_connect_timeout_ms() const override { return blocking_ms; }
  alertloop::LinkState state() override { return link; }
  bool publish(const char *topic, const char *payload, bool retain, uint8_t qos) override {
    if (link != alertloop::LinkState::kConnected) return false;
    published.push_back({topic, payload, retain, qos});
    return true;
  }
  bool subscribe(const char *topic) override {
    subscribed.push_back(topic);
    return link == alertloop::LinkState::kConnected;
  }
  void disconnect() override {
    disconnects++;
    link = alertloop::LinkState::kDisconnected;
  }
  void loop() override {}
  void set_sink(alertloop::MessageSink *s) override { sink = s; }

  std::vector<std::string> payloads_on(const std::string &topic) const {
    std::vector<std::string> found;
    for (const auto &p : published) {
      if (p.topic == topic) found.push_back(p.payload);
    }
    return found;
  }
};

}  // namespace fakes
