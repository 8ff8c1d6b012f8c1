#include "alertloop/indicator_config.h"

#include <cstdio>
#include <cstring>

namespace alertloop {

// The next comma-separated item of `text` from `*cursor`, trimmed, into out (false: none left,
// or it does not fit).
static bool next_item(const char *&cursor, char *out, size_t size, bool &fits) {
  while (*cursor == ' ' || *cursor == ',') cursor++;
  if (*cursor == '\0') return false;
  const char *start = cursor;
  const char *end = strchr(cursor, ',');
  size_t length = end == nullptr ? strlen(cursor) : static_cast<size_t>(end - cursor);
  cursor += length;
  while (length > 0 && start[length - 1] == ' ') length--;
  fits = length < size;
  if (fits) {
    memcpy(out, start, length);
    out[length] = '\0';
  }
  return true;
}

// Copies `text` into `out` when it fits.
static bool copy(const char *text, char *out, size_t size) {
  size_t length = strlen(text);
  if (length >= size) return false;
  memcpy(out, text, length + 1);
  return true;
}

static bool fail(char *problem, size_t size, const char *what) {
  snprintf(problem, size, "%s", what);
  return false;
}

static bool parse_number(const char *text, int max, int &out) {
  if (text == nullptr || *text == '\0' || strlen(text) > 3) return false;
  out = 0;
  for (const char *c = text; *c != '\0'; c++) {
    if (*c < '0' || *c > '9') return false;
    out = out * 10 + (*c - '0');
  }
  return out <= max;
}

static const char *const kLedsProblem =
    "leds: colour:GPIO items, green among them, e.g. green:5, red:4";
static const char *const kFollowsProblem =
    "follows: topic:colour[:priority] items, a colour of leds other than green";

bool parse_indicator_wiring(const char *leds, const char *follows, IndicatorWiring &out,
                            char *problem, size_t size) {
  out = IndicatorWiring{};
  out.led_count = 1;  // LED 0 is green, wherever it is listed
  bool green = false, fits = true;
  char item[kTopicSize + 16];
  const char *cursor = leds == nullptr ? "" : leds;
  while (next_item(cursor, item, sizeof(item), fits)) {
    char *colon = strchr(item, ':');
    int pin = 0;
    if (!fits || colon == nullptr || colon == item || colon - item >= 12 ||
        !parse_number(colon + 1, 39, pin)) {
      return fail(problem, size, kLedsProblem);
    }
    *colon = '\0';
    uint8_t led = strcmp(item, "green") == 0 ? 0 : out.led_count;
    if (led == 0 ? green : out.led_count == kMaxLeds) return fail(problem, size, kLedsProblem);
    for (uint8_t other = 1; other < out.led_count; other++) {
      if (strcmp(out.names[other], item) == 0) return fail(problem, size, kLedsProblem);
    }
    if (led == 0) {
      green = true;
    } else {
      out.led_count++;
    }
    if (!copy(item, out.names[led], sizeof(out.names[led]))) return fail(problem, size, kLedsProblem);
    out.pins[led] = pin;
  }
  if (!green || out.led_count < 2) return fail(problem, size, kLedsProblem);

  cursor = follows == nullptr ? "" : follows;
  while (next_item(cursor, item, sizeof(item), fits)) {
    if (!fits || out.follow_count == kMaxFollows) return fail(problem, size, kFollowsProblem);
    char *colour = strchr(item, ':');
    if (colour == nullptr || colour == item) return fail(problem, size, kFollowsProblem);
    *colour++ = '\0';
    char *priority = strchr(colour, ':');
    int level = 1;
    if (priority != nullptr) {
      *priority++ = '\0';
      if (!parse_number(priority, 255, level)) return fail(problem, size, kFollowsProblem);
    }
    uint8_t led = 0;
    for (uint8_t i = 1; i < out.led_count; i++) {
      if (strcmp(out.names[i], colour) == 0) led = i;
    }
    if (led == 0 || strpbrk(item, "+#") != nullptr) return fail(problem, size, kFollowsProblem);
    if (!copy(item, out.topics[out.follow_count], kTopicSize)) {
      return fail(problem, size, kFollowsProblem);
    }
    out.follows[out.follow_count] = {out.topics[out.follow_count], led,
                                     static_cast<uint8_t>(level)};
    out.follow_count++;
  }
  if (out.follow_count == 0) return fail(problem, size, kFollowsProblem);
  return true;
}

void IndicatorWiring::apply(IndicatorSettings &settings) const {
  for (uint8_t i = 0; i < kMaxLeds; i++) settings.led_names[i] = i < led_count ? names[i] : "";
  for (uint8_t i = 0; i < follow_count; i++) settings.follows[i] = follows[i];
  settings.follow_count = follow_count;
}

}  // namespace alertloop
