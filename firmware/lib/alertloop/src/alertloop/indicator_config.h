// The indicator board's LEDs and followed alerts, as platformio.ini's [indicator] section gives
// them (text build flags): `leds = green:5, red:4, yellow:13` (colour:GPIO; green is the normal
// LED) and `follows = alerts/pot-high:red:1, alerts/temp-high:yellow:2` (topic:colour[:priority]).
// Adding a colour is one more LED there and an alert that uses it. Checked at boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alertloop/indicator_app.h"
#include "alertloop/messages.h"

namespace alertloop {

struct IndicatorWiring {
  uint8_t led_count = 0;
  int pins[kMaxLeds] = {};        // by LED number: 0 is green
  char names[kMaxLeds][12] = {};  // the colours
  uint8_t follow_count = 0;
  char topics[kMaxFollows][kTopicSize] = {};
  AlertFollow follows[kMaxFollows];
  // The LEDs and alerts into `settings` (which then points into this object).
  void apply(IndicatorSettings &settings) const;
};

// false with "leds: ..." or "follows: ..." in `problem` for anything unusable.
bool parse_indicator_wiring(const char *leds, const char *follows, IndicatorWiring &out,
                            char *problem, size_t size);

}  // namespace alertloop
