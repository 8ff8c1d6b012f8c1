#include "alertloop/led_pattern.h"

#include <cstdio>
#include <cstring>

namespace alertloop {

static Display shown(Indication indication) { return {indication, UnknownReason::kNone}; }

static Display unknown(UnknownReason reason) { return {Indication::kUnknown, reason}; }

static Display from_annunciator(AnnunciatorState state) {
  switch (state) {
    case AnnunciatorState::kNormal: return shown(Indication::kGreen);
    case AnnunciatorState::kUnacked: return shown(Indication::kRedFlashing);
    case AnnunciatorState::kAcked: return shown(Indication::kRed);
    case AnnunciatorState::kClearedUnacked: return shown(Indication::kGreenFlashing);
    case AnnunciatorState::kShelved: return shown(Indication::kShelved);
    case AnnunciatorState::kOutOfService: return shown(Indication::kOutOfService);
    case AnnunciatorState::kAbsent:
    case AnnunciatorState::kUnrecognised: break;
  }
  return unknown(UnknownReason::kBadAnnunciatorPayload);
}

static Display from_alert(AlertState alert, bool alert_seen) {
  switch (alert) {
    case AlertState::kFiring: return shown(Indication::kRed);
    case AlertState::kClear: return shown(Indication::kGreen);
    case AlertState::kUnknown: break;
  }
  return unknown(alert_seen ? UnknownReason::kBadPayload : UnknownReason::kNoState);
}

Display decide_display(const IndicatorInputs &inputs) {
  if (!inputs.broker_connected) return unknown(UnknownReason::kBrokerUnreachable);
  switch (inputs.webhook) {
    case Liveness::kOffline: return unknown(UnknownReason::kWebhookOffline);
    case Liveness::kNotHeard: return unknown(UnknownReason::kWebhookNotHeard);
    case Liveness::kLapsed: return unknown(UnknownReason::kWebhookSilent);
    case Liveness::kLive: break;
  }
  if (inputs.annunciator != AnnunciatorState::kAbsent) return from_annunciator(inputs.annunciator);
  return from_alert(inputs.alert, inputs.alert_seen);
}

bool needs_acknowledgement(Indication indication) {
  return indication == Indication::kRedFlashing || indication == Indication::kGreenFlashing;
}

static bool in_first(uint32_t now_ms, uint32_t period_ms, uint32_t on_ms) {
  return now_ms % period_ms < on_ms;
}

bool led_on(Led led, Indication indication, uint32_t now_ms) {
  switch (indication) {
    case Indication::kRed: return led == Led::kRed;
    case Indication::kGreen: return led == Led::kGreen;
    case Indication::kRedFlashing:
      return led == Led::kRed && in_first(now_ms, kFlashPeriodMs, kFlashOnMs);
    case Indication::kGreenFlashing:
      return led == Led::kGreen && in_first(now_ms, kFlashPeriodMs, kFlashOnMs);
    case Indication::kShelved:
      return led == Led::kGreen || in_first(now_ms, kSilencedPeriodMs, kSilencedBlinkMs);
    case Indication::kOutOfService: return in_first(now_ms, kSilencedPeriodMs, kSilencedBlinkMs);
    case Indication::kUnknown: break;
  }
  bool red_half = in_first(now_ms, 2 * kUnknownHalfPeriodMs, kUnknownHalfPeriodMs);
  return led == Led::kRed ? red_half : !red_half;
}

bool led_on(uint8_t led, Indication indication, uint8_t alarm_led, uint32_t now_ms) {
  if (led == kGreenLed) return led_on(Led::kGreen, indication, now_ms);
  uint8_t red_role = indication == Indication::kUnknown ? 1 : alarm_led;
  return led == red_role && led_on(Led::kRed, indication, now_ms);
}

const char *display_name(Indication indication, const char *alarm_colour, char *out,
                         size_t size) {
  const char *name = indication_name(indication);
  if (indication == Indication::kRed || indication == Indication::kRedFlashing) {
    snprintf(out, size, "%s%s", alarm_colour, name + strlen("red"));
  } else {
    snprintf(out, size, "%s", name);
  }
  return out;
}

bool buzzer_on(Indication indication, uint32_t now_ms) {
  return indication == Indication::kRedFlashing && in_first(now_ms, kBeepPeriodMs, kBeepOnMs);
}

const char *indication_name(Indication indication) {
  switch (indication) {
    case Indication::kRed: return "red";
    case Indication::kGreen: return "green";
    case Indication::kRedFlashing: return "red-flashing";
    case Indication::kGreenFlashing: return "green-flashing";
    case Indication::kShelved: return "shelved";
    case Indication::kOutOfService: return "out-of-service";
    case Indication::kUnknown: break;
  }
  return "unknown";
}

const char *reason_text(UnknownReason reason) {
  switch (reason) {
    case UnknownReason::kNone: return "";
    case UnknownReason::kBrokerUnreachable: return "broker unreachable";
    case UnknownReason::kWebhookOffline: return "webhook offline";
    case UnknownReason::kWebhookNotHeard: return "no live webhook status yet";
    case UnknownReason::kWebhookSilent: return "webhook silent (no heartbeat)";
    case UnknownReason::kNoState: return "no alert state yet";
    case UnknownReason::kBadPayload: return "unrecognised alert payload";
    case UnknownReason::kBadAnnunciatorPayload: return "unrecognised annunciator payload";
  }
  return "";
}

}  // namespace alertloop
