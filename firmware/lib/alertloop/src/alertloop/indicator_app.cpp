#include "alertloop/indicator_app.h"

#include <cstring>

#include "alertloop/log.h"

namespace alertloop {

IndicatorApp::IndicatorApp(Clock &clock, Leds &leds, MqttLink &mqtt,
                           ConnectionManager &connection, const IndicatorSettings &settings)
    : clock_(clock), leds_(leds), mqtt_(mqtt), connection_(connection), settings_(settings) {
  topics_ok_ = format_topic(settings.status_root, settings.device_id, nullptr, status_topic_,
                            sizeof(status_topic_));
}

void IndicatorApp::loop() {
  uint32_t now = clock_.millis();
  switch (connection_.loop(now)) {
    case ConnectionEvent::kConnected:
      // Subscribing again on every connect brings the retained states back. "online" comes
      // after, so whoever sees it knows the subscriptions are in place.
      mqtt_.subscribe(settings_.alert_topic);
      mqtt_.subscribe(settings_.webhook_status_topic);
      mqtt_.publish(status_topic_, "online", true);
      break;
    case ConnectionEvent::kDisconnected:
      // What arrived before may be stale by the time the link is back.
      alert_ = AlertState::kUnknown;
      alert_seen_ = false;
      webhook_ = PeerStatus::kUnknown;
      break;
    case ConnectionEvent::kNone:
      break;
  }
  Display display = decide_display(connection_.connected(), webhook_, alert_, alert_seen_);
  if (!shown_ || display != display_) {
    shown_ = true;
    display_ = display;
    log_line("display: %s%s%s", indication_name(display.indication),
             display.reason == UnknownReason::kNone ? "" : ", ", reason_text(display.reason));
  }
  leds_.set(led_on(Led::kRed, display_.indication, now),
            led_on(Led::kGreen, display_.indication, now));
}

void IndicatorApp::on_message(const char *topic, const uint8_t *payload, size_t length) {
  if (strcmp(topic, settings_.alert_topic) == 0) {
    alert_ = parse_alert(payload, length);
    alert_seen_ = true;
  } else if (strcmp(topic, settings_.webhook_status_topic) == 0) {
    webhook_ = parse_status(payload, length);
  }
}

void IndicatorApp::shutdown() {
  if (!connection_.connected()) return;
  mqtt_.publish(status_topic_, "offline", true);
  mqtt_.loop();
  mqtt_.disconnect();
}

}  // namespace alertloop
