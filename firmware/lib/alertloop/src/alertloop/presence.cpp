#include "alertloop/presence.h"

namespace alertloop {

Presence::Presence(const char *status_root, const char *client_id)
    : client_id_(client_id),
      ok_(format_topic(status_root, client_id, nullptr, topic_, sizeof(topic_))) {}

ConnectOptions Presence::connect_options(const char *username, const char *password) const {
  return {client_id_, username, password, topic_, kOffline};
}

bool Presence::announce(MqttLink &mqtt) const { return mqtt.publish(topic_, kOnline, true, 1); }

void Presence::leave(MqttLink &mqtt) const {
  mqtt.publish(topic_, kOffline, true, 1);
  mqtt.loop();
  mqtt.disconnect();
}

}  // namespace alertloop
