#include "alertloop/led_pattern.h"

namespace alertloop {

Display decide_display(bool broker_connected, PeerStatus webhook, AlertState alert,
                       bool alert_seen) {
  if (!broker_connected) return {Indication::kUnknown, UnknownReason::kBrokerUnreachable};
  if (webhook == PeerStatus::kOffline) return {Indication::kUnknown, UnknownReason::kWebhookOffline};
  switch (alert) {
    case AlertState::kFiring: return {Indication::kRed, UnknownReason::kNone};
    case AlertState::kClear: return {Indication::kGreen, UnknownReason::kNone};
    case AlertState::kUnknown: break;
  }
  return {Indication::kUnknown, alert_seen ? UnknownReason::kBadPayload : UnknownReason::kNoState};
}

bool led_on(Led led, Indication indication, uint32_t now_ms) {
  switch (indication) {
    case Indication::kRed: return led == Led::kRed;
    case Indication::kGreen: return led == Led::kGreen;
    case Indication::kUnknown: break;
  }
  bool red_half = (now_ms / kUnknownHalfPeriodMs) % 2 == 0;
  return led == Led::kRed ? red_half : !red_half;
}

const char *indication_name(Indication indication) {
  switch (indication) {
    case Indication::kRed: return "red";
    case Indication::kGreen: return "green";
    case Indication::kUnknown: break;
  }
  return "unknown";
}

const char *reason_text(UnknownReason reason) {
  switch (reason) {
    case UnknownReason::kNone: return "";
    case UnknownReason::kBrokerUnreachable: return "broker unreachable";
    case UnknownReason::kWebhookOffline: return "webhook offline";
    case UnknownReason::kNoState: return "no alert state yet";
    case UnknownReason::kBadPayload: return "unrecognised alert payload";
  }
  return "";
}

}  // namespace alertloop
