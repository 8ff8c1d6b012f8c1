// The non-blocking reconnect state machine shared by both boards and both simulators: join the
// network, connect to the broker with capped back-off, notice a lost link, and ask for a reboot
// after a long time offline. loop() never waits.
#pragma once

#include <cstdint>

#include "alertloop/backoff.h"
#include "alertloop/hal.h"

namespace alertloop {

struct ConnectionSettings {
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 30000;
  uint32_t network_retry_ms = 20000;  // restart joining when the network stays down this long
  uint32_t connect_timeout_ms = 10000;  // give up an attempt without CONNACK after this long
  uint32_t reboot_after_ms = 0;  // 0: never
};

enum class ConnectionPhase { kNetworkDown, kWaiting, kConnecting, kConnected };
enum class ConnectionEvent { kNone, kConnected, kDisconnected };

const char *phase_name(ConnectionPhase phase);

class ConnectionManager {
 public:
  ConnectionManager(Network &network, MqttLink &mqtt, const ConnectOptions &options,
                    const ConnectionSettings &settings);

  ConnectionEvent loop(uint32_t now_ms);
  bool connected() const { return phase_ == ConnectionPhase::kConnected; }
  ConnectionPhase phase() const { return phase_; }
  bool should_reboot(uint32_t now_ms) const;
  uint32_t attempts() const { return attempts_; }
  uint32_t next_attempt_in_ms(uint32_t now_ms) const;

 private:
  ConnectionEvent lose_link(uint32_t now_ms);
  void schedule_retry(uint32_t now_ms);

  Network &network_;
  MqttLink &mqtt_;
  ConnectOptions options_;
  ConnectionSettings settings_;
  Backoff backoff_;
  ConnectionPhase phase_ = ConnectionPhase::kNetworkDown;
  bool started_ = false;
  bool network_begun_ = false;
  uint32_t network_begun_at_ = 0;
  uint32_t next_attempt_at_ = 0;
  uint32_t attempt_started_at_ = 0;
  uint32_t offline_since_ = 0;
  uint32_t attempts_ = 0;
};

}  // namespace alertloop
