// What the indicator shows: a pure function of its inputs, and the LED pattern over time.
#pragma once

#include <cstdint>

#include "alertloop/messages.h"

namespace alertloop {

enum class Indication { kUnknown, kGreen, kRed };

enum class UnknownReason { kNone, kBrokerUnreachable, kWebhookOffline, kNoState, kBadPayload };

struct Display {
  Indication indication;
  UnknownReason reason;
  bool operator==(const Display &other) const {
    return indication == other.indication && reason == other.reason;
  }
  bool operator!=(const Display &other) const { return !(*this == other); }
};

// `alert_seen`: a message arrived on the alert topic since the last connect (so an unknown
// alert state is an unrecognised payload rather than no state yet).
Display decide_display(bool broker_connected, PeerStatus webhook, AlertState alert,
                       bool alert_seen);

enum class Led { kRed, kGreen };

// Unknown: both LEDs alternate slowly (red for kUnknownHalfPeriodMs, then green), so it cannot be
// mistaken for a steady red or green.
static const uint32_t kUnknownHalfPeriodMs = 1000;
bool led_on(Led led, Indication indication, uint32_t now_ms);

const char *indication_name(Indication indication);
const char *reason_text(UnknownReason reason);

}  // namespace alertloop
