#include "alertloop/button.h"

namespace alertloop {

bool Debouncer::pressed(bool raw_pressed, uint32_t now_ms) {
  if (raw_pressed != last_raw_) {
    last_raw_ = raw_pressed;
    changed_at_ = now_ms;
    return false;
  }
  if (raw_pressed == stable_ || now_ms - changed_at_ < settle_ms_) return false;
  stable_ = raw_pressed;
  return stable_;
}

}  // namespace alertloop
