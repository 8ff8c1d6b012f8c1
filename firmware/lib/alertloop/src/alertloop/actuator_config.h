// The actuator board's wiring, as platformio.ini's [actuator] section gives it (text build
// flags): relay pins, feedback pins, safe states. Checked at boot; a board with a bad setting
// does not start and says which on the serial monitor.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alertloop/actuator_app.h"

namespace alertloop {

static const int kNoPin = -1;

struct RelayWiring {
  uint8_t count = 0;
  int relay_pins[kMaxRelays] = {};
  int feedback_pins[kMaxRelays] = {};  // kNoPin: no feedback contact
  SafeState safe[kMaxRelays] = {};
};

// `relay_pins` "5,4" (GPIO numbers, 1 to kMaxRelays of them); `feedback_pins` "12,-" (one per
// relay, `-` for none; empty: none at all); `safe_states` "off,hold" (one per relay, or one for
// all). false with "relay_pins: ..." in `problem` for anything else.
bool parse_relay_wiring(const char *relay_pins, const char *feedback_pins,
                        const char *safe_states, RelayWiring &out, char *problem, size_t size);

}  // namespace alertloop
