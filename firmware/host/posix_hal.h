// The host's clock and network for the simulators: POSIX time, and a network that is always up
// (the broker connection itself is what the simulators exercise).
#pragma once

#include "alertloop/hal.h"

namespace host {

class MonotonicClock : public alertloop::Clock {
 public:
  uint32_t millis() override;
};

class SystemWallClock : public alertloop::WallClock {
 public:
  bool epoch_ms(uint64_t &out) override;
};

class LoopbackNetwork : public alertloop::Network {
 public:
  void begin() override {}
  bool connected() override { return true; }
};

}  // namespace host
