#include <doctest/doctest.h>

#include <initializer_list>

#include "alertloop/led_pattern.h"

using namespace alertloop;

TEST_CASE("what the indicator shows") {
  struct Case {
    const char *name;
    bool connected;
    PeerStatus webhook;
    AlertState alert;
    bool alert_seen;
    Indication indication;
    UnknownReason reason;
  } cases[] = {
      {"firing", true, PeerStatus::kOnline, AlertState::kFiring, true, Indication::kRed,
       UnknownReason::kNone},
      {"clear", true, PeerStatus::kOnline, AlertState::kClear, true, Indication::kGreen,
       UnknownReason::kNone},
      {"webhook never reported (not offline)", true, PeerStatus::kUnknown, AlertState::kFiring,
       true, Indication::kRed, UnknownReason::kNone},
      {"no state yet", true, PeerStatus::kOnline, AlertState::kUnknown, false,
       Indication::kUnknown, UnknownReason::kNoState},
      {"unrecognised payload", true, PeerStatus::kOnline, AlertState::kUnknown, true,
       Indication::kUnknown, UnknownReason::kBadPayload},
      {"webhook offline hides a stale red", true, PeerStatus::kOffline, AlertState::kFiring, true,
       Indication::kUnknown, UnknownReason::kWebhookOffline},
      {"broker unreachable hides a stale green", false, PeerStatus::kOnline, AlertState::kClear,
       true, Indication::kUnknown, UnknownReason::kBrokerUnreachable},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    Display display = decide_display(c.connected, c.webhook, c.alert, c.alert_seen);
    CHECK(display.indication == c.indication);
    CHECK(display.reason == c.reason);
  }
}

TEST_CASE("red and green are steady") {
  for (uint32_t now : {0u, 999u, 1000u, 123456u}) {
    CAPTURE(now);
    CHECK(led_on(Led::kRed, Indication::kRed, now));
    CHECK_FALSE(led_on(Led::kGreen, Indication::kRed, now));
    CHECK(led_on(Led::kGreen, Indication::kGreen, now));
    CHECK_FALSE(led_on(Led::kRed, Indication::kGreen, now));
  }
}

TEST_CASE("unknown alternates red and green slowly, exactly one LED lit at a time") {
  struct Case {
    uint32_t now;
    bool red;
  } cases[] = {{0, true}, {999, true}, {1000, false}, {1999, false}, {2000, true}, {4999, true}};
  for (const auto &c : cases) {
    CAPTURE(c.now);
    CHECK(led_on(Led::kRed, Indication::kUnknown, c.now) == c.red);
    CHECK(led_on(Led::kGreen, Indication::kUnknown, c.now) == !c.red);
  }
  // Every 2 s period shows each colour for exactly half of it.
  int red = 0, green = 0;
  for (uint32_t t = 0; t < 2000; t++) {
    red += led_on(Led::kRed, Indication::kUnknown, t);
    green += led_on(Led::kGreen, Indication::kUnknown, t);
  }
  CHECK(red == 1000);
  CHECK(green == 1000);
}
