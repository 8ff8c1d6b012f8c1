#include "alertloop/sensor_app.h"

#include "alertloop/log.h"

namespace alertloop {

SensorApp::SensorApp(Clock &clock, WallClock &wall_clock, Adc &adc, MqttLink &mqtt,
                     ConnectionManager &connection, const SensorSettings &settings)
    : clock_(clock), wall_clock_(wall_clock), adc_(adc), mqtt_(mqtt), connection_(connection),
      settings_(settings), filter_(settings.smoothing_alpha), schedule_(settings.schedule) {
  topics_ok_ = format_topic(settings.sensors_root, settings.device_id, settings.measurement,
                            reading_topic_, sizeof(reading_topic_));
}

void SensorApp::loop() {
  uint32_t now = clock_.millis();
  if (connection_.loop(now) == ConnectionEvent::kConnected) connection_.announce_online();
  if (!sampled_ || now - last_sample_at_ >= settings_.sample_period_ms) {
    sample(now);
  }
  publish_if_due(now);
}

void SensorApp::sample(uint32_t now_ms) {
  if (!adc_.ready()) return;
  uint8_t count = settings_.oversample == 0 ? 1 : settings_.oversample;
  uint32_t sum = 0;
  for (uint8_t i = 0; i < count; i++) sum += adc_.read_raw();
  filter_.add(static_cast<float>(sum) / count);
  sampled_ = true;
  last_sample_at_ = now_ms;
}

void SensorApp::publish_if_due(uint32_t now_ms) {
  if (!connection_.connected() || !filter_.has_value()) return;
  int32_t value = value_tenths();
  if (!schedule_.due(now_ms, value)) return;
  uint64_t ts = 0;
  bool has_ts = wall_clock_.epoch_ms(ts);
  char payload[kPayloadSize];
  if (format_reading(value, seq_, has_ts, ts, payload, sizeof(payload)) == 0) return;
  if (mqtt_.publish(reading_topic_, payload, false, 0)) {
    seq_++;
    schedule_.published(now_ms, value);
  }
}

void SensorApp::shutdown() { connection_.shutdown(); }

void SensorApp::dump_config() const {
  log_line("sensor: device id '%s', readings on %s (QoS 0)", settings_.device_id, reading_topic_);
  log_line("sensor: every %lu ms, sooner (at most every %lu ms) on a change of %ld.%ld or more",
           static_cast<unsigned long>(settings_.schedule.interval_ms),
           static_cast<unsigned long>(settings_.schedule.min_gap_ms),
           static_cast<long>(settings_.schedule.change_tenths / 10),
           static_cast<long>(settings_.schedule.change_tenths % 10));
}

}  // namespace alertloop
