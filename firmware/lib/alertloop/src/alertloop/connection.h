// The non-blocking reconnect state machine shared by both boards and both simulators: join the
// network, connect to the broker with capped back-off, notice a lost link, keep the client's
// presence (status topic, Last Will), and ask for a reboot after a long time offline. loop()
// never waits.
#pragma once

#include <cstdint>

#include "alertloop/backoff.h"
#include "alertloop/hal.h"
#include "alertloop/presence.h"

namespace alertloop {

// MQTT keepalive of every board and simulator. A broker that vanishes without closing the
// connection (power cut, cable pulled) is noticed after one silent keepalive period plus an
// unanswered PINGREQ: about 2 x 5 s = 10 s.
static const uint16_t kKeepaliveS = 5;

struct ConnectionSettings {
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 30000;
  uint32_t network_retry_ms = 20000;  // restart joining when the network stays down this long
  // Give up an attempt without CONNACK after this long; only for a link whose connect() returns
  // at once (a blocking link applies its own, MqttLink::blocking_connect_timeout_ms()).
  uint32_t connect_timeout_ms = 10000;
  uint32_t reboot_after_ms = 0;  // 0: never
};

// Who connects: the client id is also the device id in the status topic (and, on the deployed
// broker, the username: `use_username_as_clientid`).
struct Identity {
  const char *client_id;
  const char *username;  // nullptr or "" for none
  const char *password;
  const char *status_root;  // from platformio.ini's [topics]
};

enum class ConnectionPhase { kNetworkDown, kWaiting, kConnecting, kConnected };
enum class ConnectionEvent { kNone, kConnected, kDisconnected };

const char *phase_name(ConnectionPhase phase);

class ConnectionManager {
 public:
  ConnectionManager(Network &network, MqttLink &mqtt, const Identity &identity,
                    const ConnectionSettings &settings);
  ConnectionManager(const ConnectionManager &) = delete;
  ConnectionManager &operator=(const ConnectionManager &) = delete;

  // false: the status topic does not fit (client id or status root too long).
  bool ok() const { return presence_.ok(); }
  const Presence &presence() const { return presence_; }

  ConnectionEvent loop(uint32_t now_ms);
  bool connected() const { return phase_ == ConnectionPhase::kConnected; }
  ConnectionPhase phase() const { return phase_; }
  bool should_reboot(uint32_t now_ms) const;
  uint32_t attempts() const { return attempts_; }
  uint32_t next_attempt_in_ms(uint32_t now_ms) const;

  // "online" on the status topic: the app calls it after its kConnected work (subscriptions).
  void announce_online();
  // A graceful stop: "offline" and a clean disconnect, when connected.
  void shutdown();
  // The settings, one line each, on the log (ESPHome's dump_config), at boot.
  void dump_config() const;

 private:
  // One method per phase; each returns what loop() reports.
  ConnectionEvent network_down(uint32_t now_ms);
  ConnectionEvent network_back(uint32_t now_ms);
  ConnectionEvent waiting(uint32_t now_ms);
  ConnectionEvent connecting(uint32_t now_ms);
  ConnectionEvent staying_connected(uint32_t now_ms);

  ConnectionEvent become_connected();
  ConnectionEvent lose_link(uint32_t now_ms);
  void schedule_retry(uint32_t now_ms);

  Network &network_;
  MqttLink &mqtt_;
  Identity identity_;
  Presence presence_;
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
