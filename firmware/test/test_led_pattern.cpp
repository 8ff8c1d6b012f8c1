#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <set>
#include <utility>

#include "alertloop/led_pattern.h"

using namespace alertloop;

namespace {

IndicatorInputs inputs(bool connected, Liveness webhook, AlertState alert, bool alert_seen,
                       AnnunciatorState annunciator) {
  IndicatorInputs in;
  in.broker_connected = connected;
  in.webhook = webhook;
  in.alert = alert;
  in.alert_seen = alert_seen;
  in.annunciator = annunciator;
  return in;
}

const AnnunciatorState kNone = AnnunciatorState::kAbsent;

}  // namespace

TEST_CASE("what the indicator shows") {
  struct Case {
    const char *name;
    IndicatorInputs in;
    Indication indication;
    UnknownReason reason;
  } cases[] = {
      {"fallback: firing is steady red",
       inputs(true, Liveness::kLive, AlertState::kFiring, true, kNone), Indication::kRed,
       UnknownReason::kNone},
      {"fallback: clear is steady green",
       inputs(true, Liveness::kLive, AlertState::kClear, true, kNone), Indication::kGreen,
       UnknownReason::kNone},
      {"no live webhook status yet hides a retained red (the saved online is not trusted)",
       inputs(true, Liveness::kNotHeard, AlertState::kFiring, true, AnnunciatorState::kAcked),
       Indication::kUnknown, UnknownReason::kWebhookNotHeard},
      {"a webhook whose heartbeat stopped hides a stale red",
       inputs(true, Liveness::kLapsed, AlertState::kFiring, true, AnnunciatorState::kAcked),
       Indication::kUnknown, UnknownReason::kWebhookSilent},
      {"no state yet", inputs(true, Liveness::kLive, AlertState::kUnknown, false, kNone),
       Indication::kUnknown, UnknownReason::kNoState},
      {"unrecognised alert payload",
       inputs(true, Liveness::kLive, AlertState::kUnknown, true, kNone), Indication::kUnknown,
       UnknownReason::kBadPayload},
      {"unacked flashes red",
       inputs(true, Liveness::kLive, AlertState::kFiring, true, AnnunciatorState::kUnacked),
       Indication::kRedFlashing, UnknownReason::kNone},
      {"acked is steady red",
       inputs(true, Liveness::kLive, AlertState::kFiring, true, AnnunciatorState::kAcked),
       Indication::kRed, UnknownReason::kNone},
      {"cleared-unacked flashes green",
       inputs(true, Liveness::kLive, AlertState::kClear, true,
              AnnunciatorState::kClearedUnacked),
       Indication::kGreenFlashing, UnknownReason::kNone},
      {"normal is steady green",
       inputs(true, Liveness::kLive, AlertState::kClear, true, AnnunciatorState::kNormal),
       Indication::kGreen, UnknownReason::kNone},
      {"the annunciator state wins over 1/0",
       inputs(true, Liveness::kLive, AlertState::kClear, true, AnnunciatorState::kUnacked),
       Indication::kRedFlashing, UnknownReason::kNone},
      {"the annunciator state is enough without 1/0",
       inputs(true, Liveness::kLive, AlertState::kUnknown, false, AnnunciatorState::kAcked),
       Indication::kRed, UnknownReason::kNone},
      {"an annunciator state wins over a bad 1/0 payload",
       inputs(true, Liveness::kLive, AlertState::kUnknown, true, AnnunciatorState::kNormal),
       Indication::kGreen, UnknownReason::kNone},
      {"unrecognised annunciator payload does not fall back",
       inputs(true, Liveness::kLive, AlertState::kFiring, true,
              AnnunciatorState::kUnrecognised),
       Indication::kUnknown, UnknownReason::kBadAnnunciatorPayload},
      {"webhook offline hides a stale red",
       inputs(true, Liveness::kOffline, AlertState::kFiring, true, AnnunciatorState::kAcked),
       Indication::kUnknown, UnknownReason::kWebhookOffline},
      {"broker unreachable hides a stale flashing",
       inputs(false, Liveness::kLive, AlertState::kClear, true,
              AnnunciatorState::kClearedUnacked),
       Indication::kUnknown, UnknownReason::kBrokerUnreachable},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    Display display = decide_display(c.in);
    CHECK(display.indication == c.indication);
    CHECK(display.reason == c.reason);
  }
}

TEST_CASE("only the flashing states have something to acknowledge") {
  CHECK(needs_acknowledgement(Indication::kRedFlashing));
  CHECK(needs_acknowledgement(Indication::kGreenFlashing));
  CHECK_FALSE(needs_acknowledgement(Indication::kRed));
  CHECK_FALSE(needs_acknowledgement(Indication::kGreen));
  CHECK_FALSE(needs_acknowledgement(Indication::kUnknown));
}

TEST_CASE("red and green are steady") {
  for (uint32_t now : {0u, 249u, 250u, 999u, 1000u, 123456u}) {
    CAPTURE(now);
    CHECK(led_on(Led::kRed, Indication::kRed, now));
    CHECK_FALSE(led_on(Led::kGreen, Indication::kRed, now));
    CHECK(led_on(Led::kGreen, Indication::kGreen, now));
    CHECK_FALSE(led_on(Led::kRed, Indication::kGreen, now));
  }
}

TEST_CASE("flashing: one colour on 250 ms, off 250 ms, the other colour dark") {
  struct Case {
    uint32_t now;
    bool on;
  } cases[] = {{0, true}, {249, true}, {250, false}, {499, false}, {500, true}, {10249, true},
               {10250, false}};
  for (const auto &c : cases) {
    CAPTURE(c.now);
    CHECK(led_on(Led::kRed, Indication::kRedFlashing, c.now) == c.on);
    CHECK_FALSE(led_on(Led::kGreen, Indication::kRedFlashing, c.now));
    CHECK(led_on(Led::kGreen, Indication::kGreenFlashing, c.now) == c.on);
    CHECK_FALSE(led_on(Led::kRed, Indication::kGreenFlashing, c.now));
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

TEST_CASE("each pattern shows a different set of LED combinations: none can pass for another") {
  using Combination = std::pair<bool, bool>;  // red, green
  auto seen = [](Indication indication) {
    std::set<Combination> combinations;
    for (uint32_t t = 0; t < 4000; t++) {
      combinations.insert({led_on(Led::kRed, indication, t), led_on(Led::kGreen, indication, t)});
    }
    return combinations;
  };
  const Combination red{true, false}, green{false, true}, dark{false, false};
  CHECK(seen(Indication::kRed) == std::set<Combination>{red});
  CHECK(seen(Indication::kGreen) == std::set<Combination>{green});
  CHECK(seen(Indication::kRedFlashing) == std::set<Combination>{red, dark});
  CHECK(seen(Indication::kGreenFlashing) == std::set<Combination>{green, dark});
  CHECK(seen(Indication::kUnknown) == std::set<Combination>{red, green});
  const Combination both{true, true};
  CHECK(seen(Indication::kShelved) == std::set<Combination>{green, both});
  CHECK(seen(Indication::kOutOfService) == std::set<Combination>{dark, both});
}

TEST_CASE("shelved and out of service blink both LEDs 150 ms every 2 s; nothing to acknowledge") {
  struct Case {
    uint32_t now;
    bool blink;
  } cases[] = {{0, true}, {149, true}, {150, false}, {1999, false}, {2000, true}, {2150, false}};
  for (const auto &c : cases) {
    CAPTURE(c.now);
    CHECK(led_on(Led::kGreen, Indication::kShelved, c.now));
    CHECK(led_on(Led::kRed, Indication::kShelved, c.now) == c.blink);
    CHECK(led_on(Led::kGreen, Indication::kOutOfService, c.now) == c.blink);
    CHECK(led_on(Led::kRed, Indication::kOutOfService, c.now) == c.blink);
  }
  for (Indication silenced : {Indication::kShelved, Indication::kOutOfService}) {
    CHECK_FALSE(needs_acknowledgement(silenced));
    for (uint32_t t = 0; t < 2000; t += 10) CHECK_FALSE(buzzer_on(silenced, t));
  }
  IndicatorInputs in;
  in.broker_connected = true;
  in.webhook = Liveness::kLive;
  in.alert = AlertState::kFiring;
  in.annunciator = AnnunciatorState::kShelved;
  CHECK(decide_display(in).indication == Indication::kShelved);
  in.annunciator = AnnunciatorState::kOutOfService;
  CHECK(decide_display(in).indication == Indication::kOutOfService);
}

TEST_CASE("the buzzer beeps 200 ms a second while an active alarm is unacknowledged, only then") {
  for (Indication silent : {Indication::kRed, Indication::kGreen, Indication::kGreenFlashing,
                            Indication::kUnknown}) {
    CAPTURE(indication_name(silent));
    for (uint32_t t = 0; t < 2000; t += 10) CHECK_FALSE(buzzer_on(silent, t));
  }
  struct Case {
    uint32_t now;
    bool on;
  } cases[] = {{0, true}, {199, true}, {200, false}, {999, false}, {1000, true}};
  for (const auto &c : cases) {
    CAPTURE(c.now);
    CHECK(buzzer_on(Indication::kRedFlashing, c.now) == c.on);
  }
}

TEST_CASE("indication names are the words indicator-sim prints") {
  CHECK(std::string(indication_name(Indication::kRed)) == "red");
  CHECK(std::string(indication_name(Indication::kGreen)) == "green");
  CHECK(std::string(indication_name(Indication::kRedFlashing)) == "red-flashing");
  CHECK(std::string(indication_name(Indication::kGreenFlashing)) == "green-flashing");
  CHECK(std::string(indication_name(Indication::kUnknown)) == "unknown");
}
