#include "alertloop/pot_filter.h"

namespace alertloop {

int32_t scale_to_tenths(float raw, const PotScale &scale) {
  if (raw <= scale.low_dead_band) return 0;
  if (raw >= scale.high_dead_band) return 1000;
  float span = static_cast<float>(scale.high_dead_band - scale.low_dead_band);
  float tenths = (raw - scale.low_dead_band) * 1000.0f / span;
  return static_cast<int32_t>(tenths + 0.5f);
}

void PotFilter::add(float raw) {
  if (!has_value_) {
    value_ = raw;
    has_value_ = true;
    return;
  }
  value_ += alpha_ * (raw - value_);
}

}  // namespace alertloop
