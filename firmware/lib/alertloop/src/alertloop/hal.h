// The small interfaces through which the firmware logic reaches the hardware. The boards implement
// them with Arduino, Wi-Fi and PubSubClient (src/), the host with POSIX and libmosquitto (host/).
#pragma once

#include <cstddef>
#include <cstdint>

namespace alertloop {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since boot; wraps after about 49 days, so compare with differences only.
  virtual uint32_t millis() = 0;
};

class WallClock {
 public:
  virtual ~WallClock() = default;
  // Unix time in ms; false until the clock has been set (by NTP on the boards).
  virtual bool epoch_ms(uint64_t &out) = 0;
};

class Adc {
 public:
  virtual ~Adc() = default;
  virtual uint16_t read_raw() = 0;  // 12-bit reading, 0-4095
  virtual bool ready() { return true; }
};

// The indicator's LEDs, numbered as led_pattern.h says (0: green, then the alarm colours).
class Leds {
 public:
  virtual ~Leds() = default;
  virtual void set(uint8_t led, bool on) = 0;
};

class Buzzer {
 public:
  virtual ~Buzzer() = default;
  virtual void set(bool on) = 0;
};

class Network {
 public:
  virtual ~Network() = default;
  virtual void begin() = 0;  // starts (or restarts) joining; must return at once
  virtual bool connected() = 0;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // `payload` is NOT null-terminated: use `length`.
  virtual void on_message(const char *topic, const uint8_t *payload, size_t length) = 0;
};

struct ConnectOptions {
  const char *client_id;
  const char *username;  // nullptr or "" for none
  const char *password;
  const char *will_topic;  // Last Will: retained, QoS 1
  const char *will_payload;
};

enum class LinkState { kDisconnected, kConnecting, kConnected };


class MqttLink {
 public:
  virtual ~MqttLink() = default;
  // Starts a connection attempt. false: it failed at once. true: it is connected or connecting.
  virtual bool connect(const ConnectOptions &options) = 0;
  // How long connect() itself waits for the broker's CONNACK before it returns false, for a link
  // whose connect() blocks (PubSubClient on the boards). 0: connect() returns at once and
  // ConnectionSettings::connect_timeout_ms bounds the attempt instead (libmosquitto).
  virtual uint32_t blocking_connect_timeout_ms() const { return 0; }
  virtual LinkState state() = 0;
  // `qos` 0 or 1. PubSubClient (the boards) can only send QoS 0 and does so for both.
  virtual bool publish(const char *topic, const char *payload, bool retain, uint8_t qos) = 0;
  virtual bool subscribe(const char *topic) = 0;  // QoS 1
  virtual void disconnect() = 0;
  virtual void loop() = 0;  // network I/O; must return at once
  virtual void set_sink(MessageSink *sink) = 0;
};

}  // namespace alertloop
