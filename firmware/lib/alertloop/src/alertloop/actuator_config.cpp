#include "alertloop/actuator_config.h"

#include <cstdio>
#include <cstring>

namespace alertloop {

// Splits `text` at commas into at most kMaxRelays trimmed items of up to 15 characters.
static int split(const char *text, char items[kMaxRelays][16]) {
  if (text == nullptr) return 0;
  int count = 0;
  const char *start = text;
  while (true) {
    const char *end = strchr(start, ',');
    size_t length = end == nullptr ? strlen(start) : static_cast<size_t>(end - start);
    while (length > 0 && *start == ' ') {
      start++;
      length--;
    }
    while (length > 0 && start[length - 1] == ' ') length--;
    if (length == 0 && end == nullptr && count == 0) return 0;
    if (count == kMaxRelays || length == 0 || length > 15) return -1;
    memcpy(items[count], start, length);
    items[count][length] = '\0';
    count++;
    if (end == nullptr) return count;
    start = end + 1;
  }
}

static bool parse_pin(const char *text, int &out) {
  if (text[0] == '\0' || strlen(text) > 2) return false;
  int value = 0;
  for (const char *c = text; *c != '\0'; c++) {
    if (*c < '0' || *c > '9') return false;
    value = value * 10 + (*c - '0');
  }
  out = value;
  return value <= 39;
}

static bool fail(char *problem, size_t size, const char *what) {
  snprintf(problem, size, "%s", what);
  return false;
}

bool parse_relay_wiring(const char *relay_pins, const char *feedback_pins,
                        const char *safe_states, RelayWiring &out, char *problem, size_t size) {
  char items[kMaxRelays][16];
  int count = split(relay_pins, items);
  if (count <= 0) return fail(problem, size, "relay_pins: 1 to 8 GPIO numbers, e.g. 5,4");
  out = RelayWiring{};
  out.count = static_cast<uint8_t>(count);
  for (int i = 0; i < count; i++) {
    if (!parse_pin(items[i], out.relay_pins[i])) {
      return fail(problem, size, "relay_pins: 1 to 8 GPIO numbers, e.g. 5,4");
    }
    out.feedback_pins[i] = kNoPin;
  }
  int feedback = split(feedback_pins, items);
  if (feedback != 0 && feedback != count) {
    return fail(problem, size, "feedback_pins: one per relay (a GPIO number, or - for none)");
  }
  for (int i = 0; i < feedback; i++) {
    if (strcmp(items[i], "-") != 0 && !parse_pin(items[i], out.feedback_pins[i])) {
      return fail(problem, size, "feedback_pins: one per relay (a GPIO number, or - for none)");
    }
  }
  int safe = split(safe_states, items);
  if (safe != 1 && safe != count) {
    return fail(problem, size, "safe_states: off, on or hold, one for all or one per relay");
  }
  for (int i = 0; i < count; i++) {
    if (!parse_safe_state(items[safe == 1 ? 0 : i], out.safe[i])) {
      return fail(problem, size, "safe_states: off, on or hold, one for all or one per relay");
    }
  }
  return true;
}

}  // namespace alertloop
