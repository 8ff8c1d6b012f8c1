#include "alertloop/connection.h"

#include "alertloop/log.h"

namespace alertloop {

static bool reached(uint32_t now_ms, uint32_t deadline_ms) {
  return static_cast<int32_t>(now_ms - deadline_ms) >= 0;
}

static bool has_text(const char *text) { return text != nullptr && text[0] != '\0'; }

const char *phase_name(ConnectionPhase phase) {
  switch (phase) {
    case ConnectionPhase::kNetworkDown: return "network down";
    case ConnectionPhase::kWaiting: return "waiting to retry";
    case ConnectionPhase::kConnecting: return "connecting";
    case ConnectionPhase::kConnected: return "connected";
  }
  return "?";
}

ConnectionManager::ConnectionManager(Network &network, MqttLink &mqtt, const Identity &identity,
                                     const ConnectionSettings &settings)
    : network_(network), mqtt_(mqtt), identity_(identity),
      presence_(identity.status_root, identity.client_id),
      options_(presence_.connect_options(identity.username, identity.password)),
      settings_(settings), backoff_(settings.backoff_initial_ms, settings.backoff_max_ms) {}

ConnectionEvent ConnectionManager::loop(uint32_t now_ms) {
  if (!started_) {
    started_ = true;
    offline_since_ = now_ms;
    next_attempt_at_ = now_ms;
  }
  if (!network_.connected()) return network_down(now_ms);
  switch (phase_) {
    case ConnectionPhase::kNetworkDown: return network_back(now_ms);
    case ConnectionPhase::kWaiting: return waiting(now_ms);
    case ConnectionPhase::kConnecting: return connecting(now_ms);
    case ConnectionPhase::kConnected: return staying_connected(now_ms);
  }
  return ConnectionEvent::kNone;
}

ConnectionEvent ConnectionManager::network_down(uint32_t now_ms) {
  ConnectionEvent event = ConnectionEvent::kNone;
  if (phase_ == ConnectionPhase::kConnected) {
    event = lose_link(now_ms);
  } else if (phase_ == ConnectionPhase::kConnecting) {
    mqtt_.disconnect();
  }
  if (phase_ != ConnectionPhase::kNetworkDown) log_line("network: down");
  phase_ = ConnectionPhase::kNetworkDown;
  if (!network_begun_ || now_ms - network_begun_at_ >= settings_.network_retry_ms) {
    log_line("network: joining");
    network_.begin();
    network_begun_ = true;
    network_begun_at_ = now_ms;
  }
  return event;
}

ConnectionEvent ConnectionManager::network_back(uint32_t now_ms) {
  log_line("network: up");
  phase_ = ConnectionPhase::kWaiting;
  backoff_.reset();
  next_attempt_at_ = now_ms;
  return waiting(now_ms);
}

ConnectionEvent ConnectionManager::waiting(uint32_t now_ms) {
  if (!reached(now_ms, next_attempt_at_)) return ConnectionEvent::kNone;
  attempts_++;
  attempt_started_at_ = now_ms;
  if (!mqtt_.connect(options_)) {
    schedule_retry(now_ms);
    return ConnectionEvent::kNone;
  }
  if (mqtt_.state() == LinkState::kConnected) return become_connected();
  phase_ = ConnectionPhase::kConnecting;
  return ConnectionEvent::kNone;
}

ConnectionEvent ConnectionManager::connecting(uint32_t now_ms) {
  mqtt_.loop();
  LinkState link = mqtt_.state();
  if (link == LinkState::kConnected) return become_connected();
  if (link == LinkState::kDisconnected ||
      now_ms - attempt_started_at_ >= settings_.connect_timeout_ms) {
    mqtt_.disconnect();
    schedule_retry(now_ms);
  }
  return ConnectionEvent::kNone;
}

ConnectionEvent ConnectionManager::staying_connected(uint32_t now_ms) {
  mqtt_.loop();
  if (mqtt_.state() != LinkState::kConnected) return lose_link(now_ms);
  return ConnectionEvent::kNone;
}

ConnectionEvent ConnectionManager::become_connected() {
  phase_ = ConnectionPhase::kConnected;
  backoff_.reset();
  log_line("mqtt: connected as %s", options_.client_id);
  return ConnectionEvent::kConnected;
}

bool ConnectionManager::should_reboot(uint32_t now_ms) const {
  return settings_.reboot_after_ms != 0 && started_ && phase_ != ConnectionPhase::kConnected &&
         now_ms - offline_since_ >= settings_.reboot_after_ms;
}

uint32_t ConnectionManager::next_attempt_in_ms(uint32_t now_ms) const {
  return reached(now_ms, next_attempt_at_) ? 0 : next_attempt_at_ - now_ms;
}

void ConnectionManager::announce_online() { presence_.announce(mqtt_); }

void ConnectionManager::shutdown() {
  if (connected()) presence_.leave(mqtt_);
}

void ConnectionManager::dump_config() const {
  log_line("mqtt: client id '%s', %s", options_.client_id,
           has_text(identity_.username) ? "with username and password" : "anonymous");
  log_line("mqtt: status topic %s (%s once subscribed, %s as Last Will)", presence_.topic(),
           kOnline, kOffline);
  uint32_t blocking_ms = mqtt_.blocking_connect_timeout_ms();
  log_line("mqtt: keepalive %u s, %s %lu ms, back-off %lu-%lu ms",
           static_cast<unsigned>(kKeepaliveS),
           blocking_ms != 0 ? "connect() blocks for CONNACK up to" : "connect timeout",
           static_cast<unsigned long>(blocking_ms != 0 ? blocking_ms : settings_.connect_timeout_ms),
           static_cast<unsigned long>(settings_.backoff_initial_ms),
           static_cast<unsigned long>(settings_.backoff_max_ms));
  if (settings_.reboot_after_ms != 0) {
    log_line("mqtt: reboot after %lu s offline",
             static_cast<unsigned long>(settings_.reboot_after_ms / 1000));
  }
  log_line("mqtt: state: %s", phase_name(phase_));
}

ConnectionEvent ConnectionManager::lose_link(uint32_t now_ms) {
  mqtt_.disconnect();
  offline_since_ = now_ms;
  log_line("mqtt: connection lost");
  schedule_retry(now_ms);
  return ConnectionEvent::kDisconnected;
}

void ConnectionManager::schedule_retry(uint32_t now_ms) {
  uint32_t delay = backoff_.next_delay_ms();
  next_attempt_at_ = now_ms + delay;
  phase_ = ConnectionPhase::kWaiting;
  log_line("mqtt: next attempt in %lu ms", static_cast<unsigned long>(delay));
}

}  // namespace alertloop
