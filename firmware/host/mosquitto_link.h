// The MQTT link of the simulators: libmosquitto driven from the simulator's own loop (no
// background thread), so the firmware logic runs single-threaded as on the boards. Like the
// boards, it looks the broker's name up as ResolvePolicy says (IPv4, as the boards) instead of
// at every connect.
#pragma once

#include <string>

#include "alertloop/hal.h"
#include "alertloop/resolve_policy.h"

struct mosquitto;
struct mosquitto_message;

namespace host {

class MosquittoLink : public alertloop::MqttLink {
 public:
  MosquittoLink(const std::string &host, int port, int keepalive_s);
  ~MosquittoLink() override;
  MosquittoLink(const MosquittoLink &) = delete;
  MosquittoLink &operator=(const MosquittoLink &) = delete;

  bool connect(const alertloop::ConnectOptions &options) override;
  alertloop::LinkState state() override { return state_; }
  bool publish(const char *topic, const char *payload, bool retain, uint8_t qos) override;
  bool subscribe(const char *topic) override;
  void disconnect() override;
  void loop() override;
  void set_sink(alertloop::MessageSink *sink) override { sink_ = sink; }

  int socket() const;
  bool wants_write() const;

 private:
  bool resolve();
  void attempt_failed();
  static void handle_connect(mosquitto *client, void *self, int rc);
  static void handle_disconnect(mosquitto *client, void *self, int rc);
  static void handle_message(mosquitto *client, void *self, const mosquitto_message *message);

  std::string host_;
  std::string address_;  // what libmosquitto connects to: host_'s address once looked up
  alertloop::ResolvePolicy resolve_policy_;
  int port_;
  int keepalive_s_;
  mosquitto *client_ = nullptr;
  alertloop::LinkState state_ = alertloop::LinkState::kDisconnected;
  alertloop::MessageSink *sink_ = nullptr;
};

}  // namespace host
