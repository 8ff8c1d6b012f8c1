// When the sensor publishes: every `interval_ms`, and sooner on a real change (at least
// `change_tenths` away from the last published value), but never more often than `min_gap_ms`.
#pragma once

#include <cstdint>

namespace alertloop {

struct ScheduleSettings {
  uint32_t interval_ms = 500;
  uint32_t min_gap_ms = 50;
  int32_t change_tenths = 10;  // 1 unit on the 0-100 scale
};

class PublishSchedule {
 public:
  explicit PublishSchedule(const ScheduleSettings &settings) : settings_(settings) {}
  bool due(uint32_t now_ms, int32_t value_tenths) const;
  void published(uint32_t now_ms, int32_t value_tenths);

 private:
  ScheduleSettings settings_;
  bool any_ = false;
  uint32_t last_at_ = 0;
  int32_t last_value_ = 0;
};

}  // namespace alertloop
