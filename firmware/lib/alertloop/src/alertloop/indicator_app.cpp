#include "alertloop/indicator_app.h"

#include <cstring>

#include "alertloop/log.h"

namespace alertloop {

const char *press_result_text(PressResult result) {
  switch (result) {
    case PressResult::kSent: return "acknowledgement sent";
    case PressResult::kNothingToAcknowledge: return "nothing to acknowledge";
    case PressResult::kNotSent: return "not sent (no connection), press again";
  }
  return "";
}

IndicatorApp::IndicatorApp(Clock &clock, Leds &leds, Buzzer &buzzer, MqttLink &mqtt,
                           ConnectionManager &connection, const IndicatorSettings &settings)
    : clock_(clock), leds_(leds), buzzer_(buzzer), mqtt_(mqtt), connection_(connection),
      settings_(settings) {
  if (settings_.follow_count == 0) {
    settings_.follows[0].topic = settings_.alert_topic;
    settings_.follow_count = 1;
  }
  count_ = settings_.follow_count <= kMaxFollows ? settings_.follow_count : kMaxFollows;
  topics_ok_ = settings_.follow_count <= kMaxFollows && settings_.webhook_status_topic[0] != '\0';
  for (uint8_t i = 0; i < count_; i++) {
    Followed &followed = followed_[i];
    followed.follow = settings_.follows[i];
    const char *topic = followed.follow.topic;
    topics_ok_ = topics_ok_ && topic[0] != '\0' && followed.follow.led != kGreenLed &&
                 followed.follow.led < kMaxLeds &&
                 subtopic(topic, kAnnunciatorLevel, followed.annunciator, kTopicSize) &&
                 format_topic(topic, kAckLevel, settings_.device_id, followed.ack, kTopicSize);
  }
}

void IndicatorApp::loop() {
  uint32_t now = clock_.millis();
  switch (connection_.loop(now)) {
    case ConnectionEvent::kConnected:
      subscribe();
      connection_.announce_online();
      break;
    case ConnectionEvent::kDisconnected:
      forget();
      break;
    case ConnectionEvent::kNone:
      break;
  }
  broker_connected_ = connection_.connected();
  webhook_state_ = webhook_.state(now);
  show(now);
}

// Subscribing again on every connect brings the retained states back. Each annunciator state
// before its `1`/`0` topic: the broker sends retained messages in subscription order, so a board
// that has both never shows the fallback colour in between. "online" comes after the
// subscriptions.
void IndicatorApp::subscribe() {
  for (uint8_t i = 0; i < count_; i++) {
    mqtt_.subscribe(followed_[i].annunciator);
    mqtt_.subscribe(followed_[i].follow.topic);
  }
  webhook_.subscribed();
  mqtt_.subscribe(settings_.webhook_status_topic);
}

// What arrived before a lost link may be stale by the time it is back.
void IndicatorApp::forget() {
  for (uint8_t i = 0; i < count_; i++) followed_[i].inputs = IndicatorInputs{};
  webhook_.subscribed();
}

// An active alarm (flashing, or steady in its colour) beats a doubt, which beats a silenced
// alarm, which beats normal; among equals the higher priority, then the one listed first.
static int rank(Indication indication) {
  switch (indication) {
    case Indication::kRedFlashing:
    case Indication::kRed:
    case Indication::kGreenFlashing: return 4;
    case Indication::kUnknown: return 3;
    case Indication::kShelved: return 2;
    case Indication::kOutOfService: return 1;
    case Indication::kGreen: break;
  }
  return 0;
}

uint8_t IndicatorApp::choose(Display &display) const {
  uint8_t best = 0;
  for (uint8_t i = 0; i < count_; i++) {
    IndicatorInputs inputs = followed_[i].inputs;
    inputs.broker_connected = broker_connected_;
    inputs.webhook = webhook_state_;
    Display candidate = decide_display(inputs);
    int better = rank(candidate.indication) - rank(display.indication);
    if (i == 0 || better > 0 ||
        (better == 0 && followed_[i].follow.priority > followed_[best].follow.priority)) {
      display = candidate;
      best = i;
    }
  }
  return best;
}

void IndicatorApp::show(uint32_t now_ms) {
  Display display = display_;
  uint8_t follow = choose(display);
  uint8_t alarm_led = followed_[follow].follow.led;
  if (!shown_ || display != display_ || follow != shown_follow_) {
    shown_ = true;
    display_ = display;
    shown_follow_ = follow;
    display_name(display.indication, settings_.led_names[alarm_led], shown_name_,
                 sizeof(shown_name_));
    log_line("display: %s%s%s%s%s", shown_name_,
             display.reason == UnknownReason::kNone ? "" : ", ", reason_text(display.reason),
             count_ > 1 ? ", " : "", count_ > 1 ? followed_[follow].follow.topic : "");
  }
  for (uint8_t led = 0; led < kMaxLeds; led++) {
    leds_.set(led, led_on(led, display_.indication, alarm_led, now_ms));
  }
  buzzer_.set(buzzer_on(display_.indication, now_ms));
}

PressResult IndicatorApp::press() {
  // Flashing is only ever shown while connected (anything else is unknown), so a refused
  // publish means the link dropped since the last loop().
  const Followed &shown = followed_[shown_follow_];
  PressResult result = PressResult::kSent;
  if (!needs_acknowledgement(display_.indication)) {
    result = PressResult::kNothingToAcknowledge;
  } else if (!mqtt_.publish(shown.ack, settings_.device_id, false, 1)) {
    result = PressResult::kNotSent;
  }
  log_line("button: %s showing %s, %s", shown.follow.topic, shown_name_,
           press_result_text(result));
  return result;
}

void IndicatorApp::on_message(const char *topic, const uint8_t *payload, size_t length) {
  if (strcmp(topic, settings_.webhook_status_topic) == 0) {
    if (!webhook_.seen(parse_status(payload, length), clock_.millis())) {
      log_line("webhook: first online after subscribing not trusted (perhaps the broker's saved "
               "copy), waiting for a live one");
    }
    return;
  }
  for (uint8_t i = 0; i < count_; i++) {
    IndicatorInputs &inputs = followed_[i].inputs;
    if (strcmp(topic, followed_[i].follow.topic) == 0) {
      inputs.alert = parse_alert(payload, length);
      inputs.alert_seen = true;
    } else if (strcmp(topic, followed_[i].annunciator) == 0) {
      inputs.annunciator = parse_annunciator(payload, length);
    }
  }
}

void IndicatorApp::shutdown() { connection_.shutdown(); }

void IndicatorApp::dump_config() const {
  log_line("indicator: device id '%s', webhook status %s", settings_.device_id,
           settings_.webhook_status_topic);
  for (uint8_t i = 0; i < count_; i++) {
    const Followed &followed = followed_[i];
    log_line("indicator: follows %s and %s (the annunciator state wins when there is one) on "
             "the %s LED, priority %u",
             followed.follow.topic, followed.annunciator, settings_.led_names[followed.follow.led],
             static_cast<unsigned>(followed.follow.priority));
    log_line("indicator: button acknowledges on %s", followed.ack);
    log_line("indicator: alert %s, annunciator %s, webhook %s", alert_name(followed.inputs.alert),
             annunciator_name(followed.inputs.annunciator), liveness_name(webhook_state_));
  }
}

}  // namespace alertloop
