#include "common/board_glue.h"

#include <sys/time.h>

#include <cstdio>

#include "alertloop/board_config.h"
#include "alertloop/log.h"
#include "alertloop/messages.h"

namespace board {

// 2020-01-01: any earlier wall-clock time means NTP has not answered yet.
static const time_t kClockSetAfter = 1577836800;

static void log_to_serial(const char *line) { Serial.println(line); }

bool Runner::begin() {
  Serial.begin(kSerialBaud);
  alertloop::set_log_sink(log_to_serial);
  alertloop::BoardSecrets secrets{ALERTLOOP_WIFI_SSID, ALERTLOOP_WIFI_PASSWORD,
                                  ALERTLOOP_MQTT_HOST, ALERTLOOP_MQTT_PORT, ALERTLOOP_DEVICE_ID};
  if (alertloop::check_secrets(secrets, problem_, sizeof(problem_))) return true;
  alertloop::log_line("%s: not started, %s", name_, problem_);
  return false;
}

alertloop::ConnectionManager &Runner::connection(alertloop::Network &network,
                                                 alertloop::MqttLink &link,
                                                 const char *mac_prefix) {
  if (ALERTLOOP_DEVICE_ID[0] != '\0') {
    snprintf(device_id_, sizeof(device_id_), "%s", ALERTLOOP_DEVICE_ID);  // checked in begin()
  } else {
    WiFi.mode(WIFI_STA);  // the station MAC is only readable once the Wi-Fi driver runs
    uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
    WiFi.macAddress(mac);
    alertloop::format_device_id(mac_prefix, mac, device_id_, sizeof(device_id_));
  }
  alertloop::ConnectionSettings settings;
  settings.reboot_after_ms = kRebootAfterMs;
  alertloop::Identity identity{device_id_, ALERTLOOP_MQTT_USERNAME, ALERTLOOP_MQTT_PASSWORD,
                               ALERTLOOP_STATUS_ROOT};
  return connection_.emplace(network, link, identity, settings);
}

bool Runner::started(bool topics_ok) {
  running_ = topics_ok && connection_.has_value() && connection_->ok();
  if (!running_) {
    snprintf(problem_, sizeof(problem_), "device id, alert topic or topic root too long");
    alertloop::log_line("%s: not started, %s", name_, problem_);
    return false;
  }
  alertloop::log_line("%s: broker %s port %s", name_, ALERTLOOP_MQTT_HOST, ALERTLOOP_MQTT_PORT);
  connection_->dump_config();
  return true;
}

void Runner::refuse(const char *problem) {
  running_ = false;
  snprintf(problem_, sizeof(problem_), "%s", problem);
  alertloop::log_line("%s: not started, %s", name_, problem_);
}

bool Runner::keep_running(uint32_t now_ms) {
  if (!running_) {
    if (now_ms - last_reminder_ms_ >= kConfigReminderMs) {
      last_reminder_ms_ = now_ms;
      alertloop::log_line("%s: not started, %s", name_, problem_);
    }
    return false;
  }
  if (connection_->should_reboot(now_ms)) {
    alertloop::log_line("%s: offline too long, rebooting", name_);
    ESP.restart();
  }
  return true;
}

void NtpWallClock::begin() { configTime(0, 0, "pool.ntp.org", "time.google.com"); }

bool NtpWallClock::epoch_ms(uint64_t &out) {
  timeval now{};
  gettimeofday(&now, nullptr);
  if (now.tv_sec < kClockSetAfter) return false;
  out = static_cast<uint64_t>(now.tv_sec) * 1000u + static_cast<uint64_t>(now.tv_usec) / 1000u;
  return true;
}

void WifiNetwork::begin() {
  if (!begun_) {
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(true);
    WiFi.begin(ssid_, password_);
    begun_ = true;
    return;
  }
  WiFi.reconnect();
}

PubSubLink::PubSubLink(const char *host, uint16_t port)
    : host_(host), port_(port), resolve_policy_(alertloop::is_ipv4_literal(host)), client_(wifi_) {
  client_.setServer(host, port);
  client_.setKeepAlive(alertloop::kKeepaliveS);
  client_.setSocketTimeout(kSocketTimeoutS);
  client_.setBufferSize(kMqttBufferSize);
  client_.setCallback([this](char *topic, uint8_t *payload, unsigned int length) {
    // PubSubClient terminates the topic but not the payload: the length is all we trust.
    if (sink_ != nullptr) sink_->on_message(topic, payload, length);
  });
}

bool PubSubLink::resolve() {
  IPAddress address;
#if defined(ESP8266)
  bool ok = WiFi.hostByName(host_, address, alertloop::kDnsTimeoutMs) == 1;
#else
  bool ok = WiFi.hostByName(host_, address) == 1;  // the ESP32 core has no timeout argument
#endif
  resolve_policy_.resolved(ok);
  if (ok) {
    client_.setServer(address, port_);
    alertloop::log_line("mqtt: %s is %u.%u.%u.%u", host_, address[0], address[1], address[2],
                        address[3]);
  } else {
    alertloop::log_line("mqtt: cannot look up %s", host_);
  }
  return resolve_policy_.has_address();
}

bool PubSubLink::connect(const alertloop::ConnectOptions &options) {
  if (resolve_policy_.should_resolve() && !resolve()) return false;
  bool has_user = options.username != nullptr && options.username[0] != '\0';
  // A probe (ConnectionManager) has no Last Will: PubSubClient then sets none.
  bool ok = client_.connect(options.client_id, has_user ? options.username : nullptr,
                            has_user ? options.password : nullptr, options.will_topic, 1, true,
                            options.will_payload, true);
  if (ok) {
    resolve_policy_.connected();
    // Each packet at once (lwIP runs Nagle's algorithm by default): a state published right
    // after the PUBACK of a command would otherwise wait for the broker host's delayed ACK.
    wifi_.setNoDelay(true);
  } else {
    resolve_policy_.connect_failed();
    alertloop::log_line("mqtt: connect failed, state %d", client_.state());
  }
  return ok;
}

alertloop::LinkState PubSubLink::state() {
  return client_.connected() ? alertloop::LinkState::kConnected
                             : alertloop::LinkState::kDisconnected;
}

bool PubSubLink::publish(const char *topic, const char *payload, bool retain, uint8_t) {
  return client_.publish(topic, payload, retain);
}

bool PubSubLink::subscribe(const char *topic) { return client_.subscribe(topic, 1); }

}  // namespace board
