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
  // A status topic that does not fit makes the app's topics_ok() false, so started() says so.
  alertloop::format_topic(ALERTLOOP_STATUS_ROOT, device_id_, nullptr, status_topic_,
                          sizeof(status_topic_));
  alertloop::ConnectOptions options{device_id_, ALERTLOOP_MQTT_USERNAME, ALERTLOOP_MQTT_PASSWORD,
                                    status_topic_, "offline"};
  alertloop::ConnectionSettings settings;
  settings.reboot_after_ms = kRebootAfterMs;
  // One Runner per board, so one state machine.
  static alertloop::ConnectionManager manager(network, link, options, settings);
  connection_ = &manager;
  return manager;
}

bool Runner::started(bool topics_ok) {
  running_ = topics_ok && connection_ != nullptr;
  if (!running_) {
    snprintf(problem_, sizeof(problem_), "device id or topic root too long");
    alertloop::log_line("%s: not started, %s", name_, problem_);
  }
  return running_;
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

PubSubLink::PubSubLink(const char *host, uint16_t port) : client_(wifi_) {
  client_.setServer(host, port);
  client_.setKeepAlive(kKeepaliveS);
  client_.setSocketTimeout(kSocketTimeoutS);
  client_.setBufferSize(kMqttBufferSize);
  client_.setCallback([this](char *topic, uint8_t *payload, unsigned int length) {
    // PubSubClient terminates the topic but not the payload: the length is all we trust.
    if (sink_ != nullptr) sink_->on_message(topic, payload, length);
  });
}

bool PubSubLink::connect(const alertloop::ConnectOptions &options) {
  bool has_user = options.username != nullptr && options.username[0] != '\0';
  bool ok = client_.connect(options.client_id, has_user ? options.username : nullptr,
                            has_user ? options.password : nullptr, options.will_topic, 1, true,
                            options.will_payload, true);
  if (!ok) alertloop::log_line("mqtt: connect failed, state %d", client_.state());
  return ok;
}

alertloop::LinkState PubSubLink::state() {
  return client_.connected() ? alertloop::LinkState::kConnected
                             : alertloop::LinkState::kDisconnected;
}

bool PubSubLink::publish(const char *topic, const char *payload, bool retain) {
  return client_.publish(topic, payload, retain);
}

bool PubSubLink::subscribe(const char *topic) { return client_.subscribe(topic, 1); }

}  // namespace board
