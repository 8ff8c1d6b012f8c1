// Stand-in: Arduino's Client interface (only what PubSubClient's constructor needs).
#pragma once

#include <cstddef>
#include <cstdint>

class Client {
 public:
  virtual ~Client() = default;
  virtual int connect(const char *host, uint16_t port) = 0;
  virtual uint8_t connected() = 0;
  virtual void stop() = 0;
};
