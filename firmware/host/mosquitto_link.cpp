#include "mosquitto_link.h"

#include <mosquitto.h>

#include <cerrno>
#include <cstring>

#include "alertloop/log.h"

using alertloop::LinkState;
using alertloop::log_line;

namespace host {

MosquittoLink::MosquittoLink(const std::string &host, int port, int keepalive_s)
    : host_(host), port_(port), keepalive_s_(keepalive_s) {}

MosquittoLink::~MosquittoLink() {
  if (client_ != nullptr) mosquitto_destroy(client_);
}

static const char *describe(int rc) {
  return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

bool MosquittoLink::connect(const alertloop::ConnectOptions &options) {
  if (client_ == nullptr) {
    client_ = mosquitto_new(options.client_id, true, this);
    if (client_ == nullptr) {
      log_line("mqtt: cannot create a client: %s", strerror(errno));
      return false;
    }
    mosquitto_connect_callback_set(client_, handle_connect);
    mosquitto_disconnect_callback_set(client_, handle_disconnect);
    mosquitto_message_callback_set(client_, handle_message);
    bool has_user = options.username != nullptr && options.username[0] != '\0';
    mosquitto_username_pw_set(client_, has_user ? options.username : nullptr,
                              has_user ? options.password : nullptr);
    mosquitto_will_set(client_, options.will_topic, static_cast<int>(strlen(options.will_payload)),
                       options.will_payload, 1, true);
  }
  int rc = mosquitto_connect(client_, host_.c_str(), port_, keepalive_s_);
  if (rc != MOSQ_ERR_SUCCESS) {
    log_line("mqtt: cannot connect to %s:%d: %s", host_.c_str(), port_, describe(rc));
    state_ = LinkState::kDisconnected;
    return false;
  }
  state_ = LinkState::kConnecting;
  return true;
}

bool MosquittoLink::publish(const char *topic, const char *payload, bool retain, uint8_t qos) {
  if (state_ != LinkState::kConnected) return false;
  return mosquitto_publish(client_, nullptr, topic, static_cast<int>(strlen(payload)), payload, qos,
                           retain) == MOSQ_ERR_SUCCESS;
}

bool MosquittoLink::subscribe(const char *topic) {
  if (state_ != LinkState::kConnected) return false;
  return mosquitto_subscribe(client_, nullptr, topic, 1) == MOSQ_ERR_SUCCESS;
}

void MosquittoLink::disconnect() {
  if (client_ != nullptr) mosquitto_disconnect(client_);
  state_ = LinkState::kDisconnected;
}

void MosquittoLink::loop() {
  if (client_ == nullptr) return;
  int rc = mosquitto_loop(client_, 0, 1);
  if (rc != MOSQ_ERR_SUCCESS && state_ != LinkState::kDisconnected) {
    log_line("mqtt: link lost: %s", describe(rc));
    state_ = LinkState::kDisconnected;
  }
}

int MosquittoLink::socket() const { return client_ == nullptr ? -1 : mosquitto_socket(client_); }

bool MosquittoLink::wants_write() const {
  return client_ != nullptr && mosquitto_want_write(client_);
}

void MosquittoLink::handle_connect(mosquitto *, void *self, int rc) {
  auto *link = static_cast<MosquittoLink *>(self);
  if (rc == 0) {
    link->state_ = LinkState::kConnected;
    return;
  }
  log_line("mqtt: broker refused the connection: %s", mosquitto_connack_string(rc));
  link->state_ = LinkState::kDisconnected;
}

void MosquittoLink::handle_disconnect(mosquitto *, void *self, int) {
  static_cast<MosquittoLink *>(self)->state_ = LinkState::kDisconnected;
}

void MosquittoLink::handle_message(mosquitto *, void *self, const mosquitto_message *message) {
  auto *link = static_cast<MosquittoLink *>(self);
  if (link->sink_ == nullptr || message->topic == nullptr) return;
  link->sink_->on_message(message->topic, static_cast<const uint8_t *>(message->payload),
                          static_cast<size_t>(message->payloadlen));
}

}  // namespace host
