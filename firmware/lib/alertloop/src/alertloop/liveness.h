// Whether a followed service (the webhook) is live, from its retained status topic
// (docs/topics.md, "Liveness"; service_common/status.py is the services' side). The service
// publishes `online` every few seconds as a heartbeat. A retained copy can be stale: after a
// power cut the broker reloads `online` from its snapshot although nobody is there. PubSubClient
// hides the retain flag, so the first message after each subscribe (the retained copy, if any)
// is not trusted when it says `online`; `offline` is believed at once, whatever its age (it only
// ever makes the board show unknown). The service counts as live from the first `online` after
// that until kLiveWindowMs pass without another.
#pragma once

#include <cstdint>

#include "alertloop/messages.h"

namespace alertloop {

// service_common.status.LIVE_WINDOW_S: three heartbeats of 5 s (tests/firmware ties them).
static const uint32_t kLiveWindowMs = 15000;

enum class Liveness { kNotHeard, kLive, kLapsed, kOffline };

class LivenessTracker {
 public:
  explicit LivenessTracker(uint32_t window_ms = kLiveWindowMs) : window_ms_(window_ms) {}
  // Just subscribed (again): forget everything; the next message may be a retained copy.
  void subscribed();
  // false: an `online` not trusted (the first message after subscribing).
  bool seen(PeerStatus status, uint32_t now_ms);
  Liveness state(uint32_t now_ms) const;

 private:
  uint32_t window_ms_;
  bool first_pending_ = true;
  bool heard_ = false;
  bool offline_ = false;
  uint32_t last_live_ms_ = 0;
};

const char *liveness_name(Liveness liveness);

}  // namespace alertloop
