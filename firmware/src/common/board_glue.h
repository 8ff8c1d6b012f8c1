// The boards' implementations of the firmware's hardware interfaces: Arduino time, NTP wall
// clock, Wi-Fi station, and a PubSubClient MQTT link. Shared by the sensor and the indicator.
#pragma once

#include <Arduino.h>
#include <PubSubClient.h>

#include <optional>
#if defined(ESP32)
#include <WiFi.h>
#elif defined(ESP8266)
#include <ESP8266WiFi.h>
#endif

#include "alertloop/connection.h"
#include "alertloop/hal.h"
#include "alertloop/messages.h"
#include "alertloop/resolve_policy.h"

// Settings compiled in from secrets.ini by platformio.ini's build_flags (see secrets.ini.example).
#ifndef ALERTLOOP_WIFI_SSID
#define ALERTLOOP_WIFI_SSID ""
#endif
#ifndef ALERTLOOP_WIFI_PASSWORD
#define ALERTLOOP_WIFI_PASSWORD ""
#endif
#ifndef ALERTLOOP_MQTT_HOST
#define ALERTLOOP_MQTT_HOST ""
#endif
#ifndef ALERTLOOP_MQTT_PORT
#define ALERTLOOP_MQTT_PORT ""
#endif
#ifndef ALERTLOOP_MQTT_USERNAME
#define ALERTLOOP_MQTT_USERNAME ""
#endif
#ifndef ALERTLOOP_MQTT_PASSWORD
#define ALERTLOOP_MQTT_PASSWORD ""
#endif
#ifndef ALERTLOOP_DEVICE_ID
#define ALERTLOOP_DEVICE_ID ""
#endif
// The topics come from platformio.ini's [topics], their one home (also for the host build).
#if !defined(ALERTLOOP_SENSORS_ROOT) || !defined(ALERTLOOP_STATUS_ROOT) ||              \
    !defined(ALERTLOOP_ALERT_TOPIC) || !defined(ALERTLOOP_WEBHOOK_STATUS_TOPIC) ||      \
    !defined(ALERTLOOP_ACTUATORS_ROOT) || !defined(ALERTLOOP_ACTIONS_STATUS_TOPIC)
#error "the ALERTLOOP_* topic macros come from platformio.ini's [topics] (build_flags)"
#endif

namespace board {

static const uint32_t kSerialBaud = 115200;
// PubSubClient waits this long for CONNACK inside connect(); its default of 15 s would stall loop().
static const uint16_t kSocketTimeoutS = 2;
static const uint16_t kMqttBufferSize = 512;
static const uint32_t kRebootAfterMs = 10UL * 60UL * 1000UL;
static const uint32_t kConfigReminderMs = 5000;

// What both boards do around their app in setup() and loop(): the serial log, the check of the
// settings from secrets.ini, the device id, the reconnect state machine with the board's presence,
// the configuration dump, the "not started" reminder and the reboot after a long time offline.
class Runner {
 public:
  explicit Runner(const char *name) : name_(name) {}

  // Starts the serial log and checks the settings. false: the board cannot run (it says why).
  bool begin();
  // The device id (configured, or "<mac_prefix>-<last 3 MAC bytes>") and the reconnect state
  // machine, with "offline" retained as Last Will on <status root>/<device id>.
  alertloop::ConnectionManager &connection(alertloop::Network &network, alertloop::MqttLink &link,
                                           const char *mac_prefix);
  const char *device_id() const { return device_id_; }
  // Ends setup(): `topics_ok` is the app's; false leaves the board not started. Otherwise dumps
  // the connection's configuration on the serial monitor (the app dumps its own after).
  bool started(bool topics_ok);
  // Ends setup() for a board whose own settings are unusable: it says why, and keeps saying it.
  void refuse(const char *problem);
  // Call first in loop(). false while not started (repeating why every few seconds). Reboots the
  // board after kRebootAfterMs offline.
  bool keep_running(uint32_t now_ms);

 private:
  const char *name_;
  char problem_[128] = "";
  char device_id_[alertloop::kDeviceIdSize] = "";
  std::optional<alertloop::ConnectionManager> connection_;
  bool running_ = false;
  uint32_t last_reminder_ms_ = 0;
};

class ArduinoClock : public alertloop::Clock {
 public:
  uint32_t millis() override { return ::millis(); }
};

// Set by NTP (configTime) once Wi-Fi is up; until then readings go out without "ts".
class NtpWallClock : public alertloop::WallClock {
 public:
  void begin();
  bool epoch_ms(uint64_t &out) override;
};

class WifiNetwork : public alertloop::Network {
 public:
  WifiNetwork(const char *ssid, const char *password) : ssid_(ssid), password_(password) {}
  void begin() override;
  bool connected() override { return WiFi.status() == WL_CONNECTED; }

 private:
  const char *ssid_;
  const char *password_;
  bool begun_ = false;
};

// PubSubClient 2.8 over Wi-Fi. The broker's name is looked up as ResolvePolicy says (once, then
// again only after repeated failures), not by every connect() as PubSubClient would.
class PubSubLink : public alertloop::MqttLink {
 public:
  PubSubLink(const char *host, uint16_t port);
  bool connect(const alertloop::ConnectOptions &options) override;
  // PubSubClient's connect() waits for CONNACK itself (after the TCP connect).
  uint32_t blocking_connect_timeout_ms() const override { return kSocketTimeoutS * 1000UL; }
  alertloop::LinkState state() override;
  // PubSubClient 2.8 sends every PUBLISH at QoS 0: `qos` is not used.
  bool publish(const char *topic, const char *payload, bool retain, uint8_t qos) override;
  bool subscribe(const char *topic) override;
  void disconnect() override { client_.disconnect(); }
  void loop() override { client_.loop(); }
  void set_sink(alertloop::MessageSink *sink) override { sink_ = sink; }

 private:
  bool resolve();

  const char *host_;
  uint16_t port_;
  alertloop::ResolvePolicy resolve_policy_;
  WiFiClient wifi_;
  PubSubClient client_;
  alertloop::MessageSink *sink_ = nullptr;
};

}  // namespace board
