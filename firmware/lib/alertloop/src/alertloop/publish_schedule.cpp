#include "alertloop/publish_schedule.h"

namespace alertloop {

bool PublishSchedule::due(uint32_t now_ms, int32_t value_tenths) const {
  if (!any_) return true;
  uint32_t since = now_ms - last_at_;
  if (since >= settings_.interval_ms) return true;
  int32_t change = value_tenths - last_value_;
  if (change < 0) change = -change;
  return change >= settings_.change_tenths && since >= settings_.min_gap_ms;
}

void PublishSchedule::published(uint32_t now_ms, int32_t value_tenths) {
  any_ = true;
  last_at_ = now_ms;
  last_value_ = value_tenths;
}

}  // namespace alertloop
