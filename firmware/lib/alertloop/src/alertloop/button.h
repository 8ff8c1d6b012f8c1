// The acknowledge button, debounced: a pure function of the raw level over time.
#pragma once

#include <cstdint>

namespace alertloop {

// A contact bounces for a few ms; a change counts once the level has held this long.
static const uint32_t kButtonSettleMs = 30;

class Debouncer {
 public:
  explicit Debouncer(uint32_t settle_ms = kButtonSettleMs) : settle_ms_(settle_ms) {}
  // Feed the raw level at every loop() (`raw_pressed`: the pin reads "pressed"). true exactly
  // once per press: when the pressed level has held for settle_ms. Holding it repeats nothing.
  bool pressed(bool raw_pressed, uint32_t now_ms);

 private:
  uint32_t settle_ms_;
  bool stable_ = false;  // the debounced level: released until a press has settled
  bool last_raw_ = false;
  uint32_t changed_at_ = 0;
};

}  // namespace alertloop
