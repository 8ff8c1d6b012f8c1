// Turns raw 12-bit ADC readings of the potentiometer into a steady 0-100 value in tenths.
#pragma once

#include <cstdint>

namespace alertloop {

struct PotScale {
  // The ESP32 ADC reads flat near both ends of its range (about the first and last 100 mV at
  // 11 dB attenuation): readings inside these dead bands map to exactly 0 and 100.
  uint16_t low_dead_band = 100;
  uint16_t high_dead_band = 3995;
};

// 0-1000 tenths of a percent for an (oversampled, possibly fractional) reading.
int32_t scale_to_tenths(float raw, const PotScale &scale);

// Exponential moving average of the oversampled readings. With one sample per 10 ms and
// alpha 0.2 a full-scale step settles to 90 % within about 100 ms, while the residual noise
// is a third of the input's (sqrt(alpha / (2 - alpha))).
class PotFilter {
 public:
  explicit PotFilter(float alpha = 0.2f) : alpha_(alpha) {}
  void add(float raw);
  bool has_value() const { return has_value_; }
  float value() const { return value_; }

 private:
  float alpha_;
  float value_ = 0.0f;
  bool has_value_ = false;
};

}  // namespace alertloop
