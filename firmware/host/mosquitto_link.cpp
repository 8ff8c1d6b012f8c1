#include "mosquitto_link.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "alertloop/log.h"

using alertloop::LinkState;
using alertloop::log_line;

namespace host {

MosquittoLink::MosquittoLink(const std::string &host, int port, int keepalive_s)
    : host_(host), address_(host), resolve_policy_(alertloop::is_ipv4_literal(host.c_str())),
      port_(port), keepalive_s_(keepalive_s) {}

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
    // Each packet at once: with Nagle's algorithm a state published right after the PUBACK of
    // a command waited for the broker's delayed ACK of that PUBACK, about 40 ms.
    mosquitto_int_option(client_, MOSQ_OPT_TCP_NODELAY, 1);
    bool has_user = options.username != nullptr && options.username[0] != '\0';
    mosquitto_username_pw_set(client_, has_user ? options.username : nullptr,
                              has_user ? options.password : nullptr);
  }
  if (options.will_topic != nullptr) {
    mosquitto_will_set(client_, options.will_topic, static_cast<int>(strlen(options.will_payload)),
                       options.will_payload, 1, true);
  } else {
    mosquitto_will_clear(client_);
  }
  if (resolve_policy_.should_resolve() && !resolve()) return false;
  int rc = mosquitto_connect(client_, address_.c_str(), port_, keepalive_s_);
  if (rc != MOSQ_ERR_SUCCESS) {
    log_line("mqtt: cannot connect to %s:%d: %s", address_.c_str(), port_, describe(rc));
    state_ = LinkState::kDisconnected;
    resolve_policy_.connect_failed();
    return false;
  }
  state_ = LinkState::kConnecting;
  return true;
}

bool MosquittoLink::resolve() {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  int rc = getaddrinfo(host_.c_str(), nullptr, &hints, &found);
  bool ok = rc == 0 && found != nullptr;
  if (ok) {
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(found->ai_addr)->sin_addr, text,
              sizeof(text));
    address_ = text;
    log_line("mqtt: %s is %s", host_.c_str(), text);
  } else {
    log_line("mqtt: cannot look up %s: %s", host_.c_str(), gai_strerror(rc));
  }
  if (found != nullptr) freeaddrinfo(found);
  resolve_policy_.resolved(ok);
  return resolve_policy_.has_address();
}

// An attempt that got no CONNACK: refused, timed out, or the socket closed first.
void MosquittoLink::attempt_failed() {
  if (state_ == LinkState::kConnecting) resolve_policy_.connect_failed();
  state_ = LinkState::kDisconnected;
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
  attempt_failed();
}

void MosquittoLink::loop() {
  if (client_ == nullptr) return;
  int rc = mosquitto_loop(client_, 0, 1);
  if (rc != MOSQ_ERR_SUCCESS && state_ != LinkState::kDisconnected) {
    log_line("mqtt: link lost: %s", describe(rc));
    attempt_failed();
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
    link->resolve_policy_.connected();
    return;
  }
  log_line("mqtt: broker refused the connection: %s", mosquitto_connack_string(rc));
  link->attempt_failed();
}

void MosquittoLink::handle_disconnect(mosquitto *, void *self, int) {
  static_cast<MosquittoLink *>(self)->attempt_failed();
}

void MosquittoLink::handle_message(mosquitto *, void *self, const mosquitto_message *message) {
  auto *link = static_cast<MosquittoLink *>(self);
  if (link->sink_ == nullptr || message->topic == nullptr) return;
  link->sink_->on_message(message->topic, static_cast<const uint8_t *>(message->payload),
                          static_cast<size_t>(message->payloadlen));
}

}  // namespace host
