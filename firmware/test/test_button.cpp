#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "alertloop/button.h"

using alertloop::Debouncer;

namespace {

// Feeds (time, raw level) samples; returns the times at which a press was reported.
std::vector<uint32_t> presses(Debouncer &button, const std::vector<std::pair<uint32_t, bool>> &samples) {
  std::vector<uint32_t> at;
  for (const auto &sample : samples) {
    if (button.pressed(sample.second, sample.first)) at.push_back(sample.first);
  }
  return at;
}

// Samples every `step` ms from `from` (inclusive) to `to` (exclusive) at one level.
void hold(std::vector<std::pair<uint32_t, bool>> &samples, uint32_t from, uint32_t to, bool level,
          uint32_t step = 1) {
  for (uint32_t t = from; t < to; t += step) samples.push_back({t, level});
}

}  // namespace

TEST_CASE("a clean press is reported once, when it has held for 30 ms") {
  Debouncer button;
  std::vector<std::pair<uint32_t, bool>> samples;
  hold(samples, 0, 100, false);
  hold(samples, 100, 400, true);
  hold(samples, 400, 500, false);
  CHECK(presses(button, samples) == std::vector<uint32_t>{130});
}

TEST_CASE("contact bounce on press and on release makes exactly one press") {
  Debouncer button;
  std::vector<std::pair<uint32_t, bool>> samples;
  hold(samples, 0, 100, false);
  for (uint32_t t = 100; t < 110; t++) samples.push_back({t, t % 2 == 0});  // bouncing down
  hold(samples, 110, 300, true);
  for (uint32_t t = 300; t < 310; t++) samples.push_back({t, t % 2 == 1});  // bouncing up
  hold(samples, 310, 400, false);
  CHECK(presses(button, samples) == std::vector<uint32_t>{140});
}

TEST_CASE("a glitch shorter than 30 ms is not a press") {
  Debouncer button;
  std::vector<std::pair<uint32_t, bool>> samples;
  hold(samples, 0, 100, false);
  hold(samples, 100, 129, true);
  hold(samples, 129, 300, false);
  CHECK(presses(button, samples).empty());
}

TEST_CASE("holding the button is one press; two presses are two") {
  Debouncer button;
  std::vector<std::pair<uint32_t, bool>> samples;
  hold(samples, 0, 10000, true, 5);
  hold(samples, 10000, 10100, false, 5);
  hold(samples, 10100, 10200, true, 5);
  CHECK(presses(button, samples) == std::vector<uint32_t>{30, 10130});
}

TEST_CASE("sparse samples (a slow loop()) still see a press that held") {
  Debouncer button;
  CHECK_FALSE(button.pressed(false, 0));
  CHECK_FALSE(button.pressed(true, 2000));  // the level changed: wait for it to hold
  CHECK(button.pressed(true, 4000));
}

TEST_CASE("debouncing survives millis() wrapping") {
  Debouncer button;
  const uint32_t start = 0xFFFFFFF0u;
  CHECK_FALSE(button.pressed(false, start));
  CHECK_FALSE(button.pressed(true, start + 5));
  CHECK_FALSE(button.pressed(true, start + 34));
  CHECK(button.pressed(true, start + 35));  // wrapped past 0
}
