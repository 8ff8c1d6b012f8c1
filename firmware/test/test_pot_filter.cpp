#include <doctest/doctest.h>

#include <cmath>

#include "alertloop/pot_filter.h"

using alertloop::PotFilter;
using alertloop::PotScale;
using alertloop::scale_to_tenths;

TEST_CASE("scale_to_tenths maps raw readings to 0-100 with dead bands at both ends") {
  struct Case {
    const char *name;
    float raw;
    int32_t tenths;
  } cases[] = {
      {"zero", 0, 0},
      {"inside low dead band", 99, 0},
      {"edge of low dead band", 100, 0},
      {"just above low dead band", 104, 1},
      {"mid-scale", 2047.5f, 500},
      {"quarter", 100 + 3895 / 4.0f, 250},
      {"edge of high dead band", 3995, 1000},
      {"inside high dead band", 4050, 1000},
      {"full scale", 4095, 1000},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    CHECK(scale_to_tenths(c.raw, PotScale{}) == c.tenths);
  }
}

TEST_CASE("the filter starts at its first sample instead of ramping up from zero") {
  PotFilter filter(0.2f);
  CHECK_FALSE(filter.has_value());
  filter.add(3000);
  CHECK(filter.has_value());
  CHECK(filter.value() == doctest::Approx(3000));
}

TEST_CASE("a full-scale step is above 75 within 100 ms of 10 ms samples") {
  PotFilter filter(0.2f);
  filter.add(0);
  int samples = 0;
  while (scale_to_tenths(filter.value(), PotScale{}) < 750) {
    filter.add(4095);
    samples++;
  }
  CHECK(samples <= 10);
}

TEST_CASE("ADC noise of +-40 LSB per read moves the value by less than the publish threshold") {
  // As the sensor samples: the mean of 16 reads every 10 ms, then the moving average.
  PotFilter filter(0.2f);
  filter.add(2048);
  uint32_t state = 12345;
  int32_t low = 1000, high = 0;
  for (int i = 0; i < 2000; i++) {
    float sum = 0;
    for (int read = 0; read < 16; read++) {
      state = state * 1103515245u + 12345u;  // deterministic pseudo-random noise
      sum += 2048 + static_cast<float>((state >> 16) % 81) - 40.0f;
    }
    filter.add(sum / 16);
    int32_t tenths = scale_to_tenths(filter.value(), PotScale{});
    low = tenths < low ? tenths : low;
    high = tenths > high ? tenths : high;
  }
  CHECK(high - low < 10);
}
