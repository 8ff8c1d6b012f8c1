// Stand-in: the subset of knolleary/PubSubClient 2.8 that src/ uses (real signatures).
#pragma once

#include <cstdint>
#include <functional>

#include "Arduino.h"
#include "Client.h"

#define MQTT_CALLBACK_SIGNATURE std::function<void(char *, uint8_t *, unsigned int)> callback

class PubSubClient {
 public:
  explicit PubSubClient(Client &client);
  PubSubClient &setServer(IPAddress ip, uint16_t port);
  PubSubClient &setServer(const char *domain, uint16_t port);
  PubSubClient &setCallback(MQTT_CALLBACK_SIGNATURE);
  PubSubClient &setKeepAlive(uint16_t keep_alive);
  PubSubClient &setSocketTimeout(uint16_t timeout);
  boolean setBufferSize(uint16_t size);
  boolean connect(const char *id, const char *user, const char *pass, const char *will_topic,
                  uint8_t will_qos, boolean will_retain, const char *will_message,
                  boolean clean_session);
  void disconnect();
  boolean publish(const char *topic, const char *payload, boolean retained);
  boolean subscribe(const char *topic, uint8_t qos);
  boolean loop();
  boolean connected();
  int state();
};
