// A client's presence on the broker (docs/topics.md, `status/<client id>`): the retained status
// topic, "online" once the client is ready, "offline" as its Last Will and on a graceful stop.
// The one place both boards and both simulators get this from (through ConnectionManager).
#pragma once

#include "alertloop/hal.h"
#include "alertloop/messages.h"

namespace alertloop {

static const char *const kOnline = "online";
static const char *const kOffline = "offline";

class Presence {
 public:
  Presence(const char *status_root, const char *client_id);
  Presence(const Presence &) = delete;
  Presence &operator=(const Presence &) = delete;

  // false: "<status root>/<client id>" does not fit in kTopicSize.
  bool ok() const { return ok_; }
  const char *topic() const { return topic_; }
  // The connect options: client id, credentials ("" or nullptr for none), Last Will "offline"
  // retained on topic(). Valid as long as this object and the strings passed in.
  ConnectOptions connect_options(const char *username, const char *password) const;
  // "online", retained: call once subscribed, so whoever sees it knows the client is listening.
  bool announce(MqttLink &mqtt) const;
  // "offline", retained, sent before a clean disconnect (which suppresses the Last Will).
  void leave(MqttLink &mqtt) const;

 private:
  const char *client_id_;
  char topic_[kTopicSize];
  bool ok_;
};

}  // namespace alertloop
