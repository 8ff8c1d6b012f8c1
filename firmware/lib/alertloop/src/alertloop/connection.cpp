#include "alertloop/connection.h"

#include "alertloop/log.h"

namespace alertloop {

static bool reached(uint32_t now_ms, uint32_t deadline_ms) {
  return static_cast<int32_t>(now_ms - deadline_ms) >= 0;
}

const char *phase_name(ConnectionPhase phase) {
  switch (phase) {
    case ConnectionPhase::kNetworkDown: return "network down";
    case ConnectionPhase::kWaiting: return "waiting to retry";
    case ConnectionPhase::kConnecting: return "connecting";
    case ConnectionPhase::kConnected: return "connected";
  }
  return "?";
}

ConnectionManager::ConnectionManager(Network &network, MqttLink &mqtt,
                                     const ConnectOptions &options,
                                     const ConnectionSettings &settings)
    : network_(network), mqtt_(mqtt), options_(options), settings_(settings),
      backoff_(settings.backoff_initial_ms, settings.backoff_max_ms) {}

ConnectionEvent ConnectionManager::loop(uint32_t now_ms) {
  if (!started_) {
    started_ = true;
    offline_since_ = now_ms;
    next_attempt_at_ = now_ms;
  }
  if (phase_ == ConnectionPhase::kConnected || phase_ == ConnectionPhase::kConnecting) {
    mqtt_.loop();
  }
  if (!network_.connected()) {
    ConnectionEvent event = ConnectionEvent::kNone;
    if (phase_ == ConnectionPhase::kConnected) event = lose_link(now_ms);
    if (phase_ == ConnectionPhase::kConnecting) mqtt_.disconnect();
    if (phase_ != ConnectionPhase::kNetworkDown) log_line("network: down");
    phase_ = ConnectionPhase::kNetworkDown;
    if (event != ConnectionEvent::kNone) return event;
    if (!network_begun_ || now_ms - network_begun_at_ >= settings_.network_retry_ms) {
      log_line("network: joining");
      network_.begin();
      network_begun_ = true;
      network_begun_at_ = now_ms;
    }
    return ConnectionEvent::kNone;
  }
  if (phase_ == ConnectionPhase::kNetworkDown) {
    log_line("network: up");
    phase_ = ConnectionPhase::kWaiting;
    backoff_.reset();
    next_attempt_at_ = now_ms;
  }

  LinkState link = mqtt_.state();
  switch (phase_) {
    case ConnectionPhase::kConnected:
      if (link != LinkState::kConnected) return lose_link(now_ms);
      return ConnectionEvent::kNone;
    case ConnectionPhase::kConnecting:
      if (link == LinkState::kConnected) break;
      if (link == LinkState::kDisconnected ||
          now_ms - attempt_started_at_ >= settings_.connect_timeout_ms) {
        mqtt_.disconnect();
        schedule_retry(now_ms);
      }
      return ConnectionEvent::kNone;
    default:
      if (!reached(now_ms, next_attempt_at_)) return ConnectionEvent::kNone;
      attempts_++;
      attempt_started_at_ = now_ms;
      if (!mqtt_.connect(options_)) {
        schedule_retry(now_ms);
        return ConnectionEvent::kNone;
      }
      if (mqtt_.state() != LinkState::kConnected) {
        phase_ = ConnectionPhase::kConnecting;
        return ConnectionEvent::kNone;
      }
  }
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
