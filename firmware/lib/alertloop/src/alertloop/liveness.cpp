#include "alertloop/liveness.h"

namespace alertloop {

void LivenessTracker::subscribed() { *this = LivenessTracker(window_ms_); }

bool LivenessTracker::seen(PeerStatus status, uint32_t now_ms) {
  bool first = first_pending_;
  first_pending_ = false;
  if (status != PeerStatus::kOnline) {
    offline_ = true;
    heard_ = false;
    return true;
  }
  if (first) return false;  // perhaps the broker's saved copy: wait for a live one
  offline_ = false;
  heard_ = true;
  last_live_ms_ = now_ms;
  return true;
}

Liveness LivenessTracker::state(uint32_t now_ms) const {
  if (offline_) return Liveness::kOffline;
  if (!heard_) return Liveness::kNotHeard;
  return now_ms - last_live_ms_ <= window_ms_ ? Liveness::kLive : Liveness::kLapsed;
}

const char *liveness_name(Liveness liveness) {
  switch (liveness) {
    case Liveness::kLive: return "live";
    case Liveness::kLapsed: return "silent";
    case Liveness::kOffline: return "offline";
    case Liveness::kNotHeard: break;
  }
  return "not heard";
}

}  // namespace alertloop
