// Capped exponential back-off between reconnect attempts.
#pragma once

#include <cstdint>

namespace alertloop {

class Backoff {
 public:
  Backoff(uint32_t initial_ms, uint32_t max_ms);
  // The delay before the next attempt; each call doubles the following one, up to the cap.
  uint32_t next_delay_ms();
  void reset();
  uint32_t max_ms() const { return max_ms_; }

 private:
  uint32_t initial_ms_;
  uint32_t max_ms_;
  uint32_t current_ms_;
};

}  // namespace alertloop
