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
  topics_ok_ = subtopic(settings.alert_topic, kAnnunciatorLevel, annunciator_topic_,
                        sizeof(annunciator_topic_)) &&
               format_topic(settings.alert_topic, kAckLevel, settings.device_id, ack_topic_,
                            sizeof(ack_topic_)) &&
               settings.alert_topic[0] != '\0' && settings.webhook_status_topic[0] != '\0';
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
  inputs_.broker_connected = connection_.connected();
  inputs_.webhook = webhook_.state(now);
  show(now);
}

// Subscribing again on every connect brings the retained states back. The annunciator state
// first: the broker sends retained messages in subscription order, so a board that has both
// never shows the fallback colour in between. "online" comes after the subscriptions.
void IndicatorApp::subscribe() {
  mqtt_.subscribe(annunciator_topic_);
  mqtt_.subscribe(settings_.alert_topic);
  webhook_.subscribed();
  mqtt_.subscribe(settings_.webhook_status_topic);
}

// What arrived before a lost link may be stale by the time it is back.
void IndicatorApp::forget() {
  inputs_ = IndicatorInputs{};
  webhook_.subscribed();
}

void IndicatorApp::show(uint32_t now_ms) {
  Display display = decide_display(inputs_);
  if (!shown_ || display != display_) {
    shown_ = true;
    display_ = display;
    log_line("display: %s%s%s", indication_name(display.indication),
             display.reason == UnknownReason::kNone ? "" : ", ", reason_text(display.reason));
  }
  leds_.set(led_on(Led::kRed, display_.indication, now_ms),
            led_on(Led::kGreen, display_.indication, now_ms));
  buzzer_.set(buzzer_on(display_.indication, now_ms));
}

PressResult IndicatorApp::press() {
  // Flashing is only ever shown while connected (anything else is unknown), so a refused
  // publish means the link dropped since the last loop().
  PressResult result = PressResult::kSent;
  if (!needs_acknowledgement(display_.indication)) {
    result = PressResult::kNothingToAcknowledge;
  } else if (!mqtt_.publish(ack_topic_, settings_.device_id, false, 1)) {
    result = PressResult::kNotSent;
  }
  log_line("button: %s showing %s, %s", settings_.alert_topic,
           indication_name(display_.indication), press_result_text(result));
  return result;
}

void IndicatorApp::on_message(const char *topic, const uint8_t *payload, size_t length) {
  if (strcmp(topic, settings_.alert_topic) == 0) {
    inputs_.alert = parse_alert(payload, length);
    inputs_.alert_seen = true;
  } else if (strcmp(topic, annunciator_topic_) == 0) {
    inputs_.annunciator = parse_annunciator(payload, length);
  } else if (strcmp(topic, settings_.webhook_status_topic) == 0) {
    if (!webhook_.seen(parse_status(payload, length), clock_.millis())) {
      log_line("webhook: first online after subscribing not trusted (perhaps the broker's saved "
               "copy), waiting for a live one");
    }
  }
}

void IndicatorApp::shutdown() { connection_.shutdown(); }

void IndicatorApp::dump_config() const {
  log_line("indicator: device id '%s'", settings_.device_id);
  log_line("indicator: follows %s and %s (the annunciator state wins when there is one)",
           settings_.alert_topic, annunciator_topic_);
  log_line("indicator: webhook status %s; button acknowledges on %s", settings_.webhook_status_topic,
           ack_topic_);
  log_line("indicator: alert %s, annunciator %s, webhook %s", alert_name(inputs_.alert),
           annunciator_name(inputs_.annunciator), liveness_name(inputs_.webhook));
}

}  // namespace alertloop
