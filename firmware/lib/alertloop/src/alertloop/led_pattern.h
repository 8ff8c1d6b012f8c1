// What the indicator shows: a pure function of what it knows, and the LED and buzzer patterns as
// pure functions of that and the time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alertloop/liveness.h"
#include "alertloop/messages.h"

namespace alertloop {

// Steady red/green are also what the fallback shows (the `1`/`0` alert topic, no annunciator
// state). Flashing red/green are ISA-18.2's unacknowledged states.
// Shelved and out of service: silenced by an operator; nothing to acknowledge, no buzzer.
enum class Indication {
  kUnknown,
  kGreen,
  kRed,
  kGreenFlashing,
  kRedFlashing,
  kShelved,
  kOutOfService
};

enum class UnknownReason {
  kNone,
  kBrokerUnreachable,
  kWebhookOffline,
  kWebhookNotHeard,
  kWebhookSilent,
  kNoState,
  kBadPayload,
  kBadAnnunciatorPayload
};

struct Display {
  Indication indication;
  UnknownReason reason;
  bool operator==(const Display &other) const {
    return indication == other.indication && reason == other.reason;
  }
  bool operator!=(const Display &other) const { return !(*this == other); }
};

// Everything the indicator has heard since its last connect.
struct IndicatorInputs {
  bool broker_connected = false;
  // Only a live `online` (not the broker's saved copy) vouches for the alert state.
  Liveness webhook = Liveness::kNotHeard;
  AlertState alert = AlertState::kUnknown;
  bool alert_seen = false;  // a message arrived on the alert topic (so kUnknown is a bad payload)
  AnnunciatorState annunciator = AnnunciatorState::kAbsent;
};

// The annunciator state wins when there is one; without it, `1`/`0` show steady red/green.
Display decide_display(const IndicatorInputs &inputs);

// Whether a press of the button has something to acknowledge: only the flashing states.
bool needs_acknowledgement(Indication indication);

enum class Led { kRed, kGreen };

// Flashing: the one LED on for kFlashOnMs of every kFlashPeriodMs (2 Hz), the other dark.
static const uint32_t kFlashPeriodMs = 500;
static const uint32_t kFlashOnMs = 250;
// Unknown: red for kUnknownHalfPeriodMs, then green as long, never both dark nor both lit, so it
// cannot be mistaken for a steady or a flashing colour.
static const uint32_t kUnknownHalfPeriodMs = 1000;
// Shelved: green, and red lit with it for kSilencedBlinkMs of every kSilencedPeriodMs. Out of
// service: dark, both lit for kSilencedBlinkMs of every kSilencedPeriodMs. The only patterns
// with both LEDs lit at once, so neither passes for another.
static const uint32_t kSilencedPeriodMs = 2000;
static const uint32_t kSilencedBlinkMs = 150;
bool led_on(Led led, Indication indication, uint32_t now_ms);

// A board's LEDs, numbered: LED kGreenLed is green (normal, nothing to do); every other LED is an
// alarm colour (red, yellow, ...), which plays the part of red above for the alerts it shows
// (`alarm_led`). Unknown alternates green and LED 1.
static const uint8_t kGreenLed = 0;
static const uint8_t kMaxLeds = 4;
bool led_on(uint8_t led, Indication indication, uint8_t alarm_led, uint32_t now_ms);

// The optional buzzer beeps (kBeepOnMs of every kBeepPeriodMs) only while an active alarm is
// unacknowledged (red flashing); it is silent in every other state.
static const uint32_t kBeepPeriodMs = 1000;
static const uint32_t kBeepOnMs = 200;
bool buzzer_on(Indication indication, uint32_t now_ms);

const char *indication_name(Indication indication);
// What indicator-sim prints and the log says: the indication's name with red replaced by the
// alarm LED's colour ("yellow-flashing"). Returns `out`.
const char *display_name(Indication indication, const char *alarm_colour, char *out,
                         size_t size);
const char *reason_text(UnknownReason reason);

}  // namespace alertloop
