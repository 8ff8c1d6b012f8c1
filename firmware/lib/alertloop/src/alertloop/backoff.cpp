#include "alertloop/backoff.h"

namespace alertloop {

Backoff::Backoff(uint32_t initial_ms, uint32_t max_ms)
    : initial_ms_(initial_ms == 0 ? 1 : initial_ms),
      max_ms_(max_ms < initial_ms_ ? initial_ms_ : max_ms),
      current_ms_(initial_ms_) {}

uint32_t Backoff::next_delay_ms() {
  uint32_t delay = current_ms_;
  current_ms_ = current_ms_ > max_ms_ / 2 ? max_ms_ : current_ms_ * 2;
  return delay;
}

void Backoff::reset() { current_ms_ = initial_ms_; }

}  // namespace alertloop
