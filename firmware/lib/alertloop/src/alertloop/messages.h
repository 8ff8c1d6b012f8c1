// Topic and payload building, and parsing of what the indicator receives. Buffers are the
// caller's; every function says when its output did not fit instead of truncating silently.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alertloop {

static const size_t kTopicSize = 128;
static const size_t kDeviceIdSize = 40;
static const size_t kPayloadSize = 96;

// "<prefix>-" followed by the last 3 MAC bytes in lower-case hex, e.g. "esp32-a1b2c3".
bool format_device_id(const char *prefix, const uint8_t mac[6], char *out, size_t size);

// Usable as a client id and inside topics: 1 to kDeviceIdSize - 1 characters, none of / + #.
bool device_id_ok(const char *id);

// "<root>/<device>" or "<root>/<device>/<measurement>" (measurement may be nullptr).
bool format_topic(const char *root, const char *device, const char *measurement, char *out,
                  size_t size);
// The topic one level below `topic`: "<topic>/<level>" (e.g. "alerts/pot-high/ack").
bool subtopic(const char *topic, const char *level, char *out, size_t size);

// The levels the indicator adds to its alert topic: the annunciator state it follows and the
// acknowledgements it sends, `<alert topic>/ack/<its device id>` (docs/topics.md).
static const char *const kAnnunciatorLevel = "annunciator";
static const char *const kAckLevel = "ack";

// {"value":50.1,"seq":7,"ts":1700000000000}; ts only when has_ts. Returns the length, 0 if too
// small. Integer formatting only (no float printf, no %llu).
size_t format_reading(int32_t value_tenths, uint32_t seq, bool has_ts, uint64_t ts_ms, char *out,
                      size_t size);

enum class AlertState { kUnknown, kClear, kFiring };
enum class PeerStatus { kUnknown, kOnline, kOffline };
// The webhook's ISA-18.2 alarm states. kAbsent: none published (an older webhook, or the
// retained state was deleted with an empty payload); kUnrecognised: a payload it does not know.
// kShelved / kOutOfService: an operator silenced the alarm in the console (the webhook publishes
// them instead of the ISA state while they apply; the `1`/`0` topic stays the process state).
enum class AnnunciatorState {
  kAbsent,
  kNormal,
  kUnacked,
  kAcked,
  kClearedUnacked,
  kShelved,
  kOutOfService,
  kUnrecognised
};

// "1" -> firing, "0" -> clear, anything else -> unknown. Surrounding ASCII whitespace is
// ignored. The payload need not be null-terminated.
AlertState parse_alert(const uint8_t *payload, size_t length);
// "online" / "offline"; anything else (an empty retained payload too) is unknown.
PeerStatus parse_status(const uint8_t *payload, size_t length);
// "normal", "unacked", "acked", "cleared-unacked", "shelved", "out-of-service"; empty (or only
// white space) is kAbsent.
AnnunciatorState parse_annunciator(const uint8_t *payload, size_t length);

const char *alert_name(AlertState state);
const char *status_name(PeerStatus status);
const char *annunciator_name(AnnunciatorState state);

}  // namespace alertloop
