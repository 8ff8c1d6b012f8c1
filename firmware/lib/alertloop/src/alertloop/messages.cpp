#include "alertloop/messages.h"

#include <cstdio>
#include <cstring>

namespace alertloop {

static bool fits(int written, size_t size) {
  return written >= 0 && static_cast<size_t>(written) < size;
}

bool format_device_id(const char *prefix, const uint8_t mac[6], char *out, size_t size) {
  return fits(snprintf(out, size, "%s-%02x%02x%02x", prefix, mac[3], mac[4], mac[5]), size);
}

bool device_id_ok(const char *id) {
  if (id == nullptr) return false;
  size_t length = strlen(id);
  return length > 0 && length < kDeviceIdSize && strpbrk(id, "/+#") == nullptr;
}

bool format_topic(const char *root, const char *device, const char *measurement, char *out,
                  size_t size) {
  int written = measurement == nullptr
                    ? snprintf(out, size, "%s/%s", root, device)
                    : snprintf(out, size, "%s/%s/%s", root, device, measurement);
  return fits(written, size);
}

bool subtopic(const char *topic, const char *level, char *out, size_t size) {
  return fits(snprintf(out, size, "%s/%s", topic, level), size);
}

// Decimal digits of `value` into `out` (no terminator); returns how many.
static size_t put_unsigned(uint64_t value, char *out) {
  char reversed[20];
  size_t n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; i++) out[i] = reversed[n - 1 - i];
  return n;
}

size_t format_reading(int32_t value_tenths, uint32_t seq, bool has_ts, uint64_t ts_ms, char *out,
                      size_t size) {
  char text[kPayloadSize];
  size_t n = 0;
  auto put = [&](const char *s) {
    size_t length = strlen(s);
    memcpy(text + n, s, length);
    n += length;
  };
  put("{\"value\":");
  int64_t tenths = value_tenths;
  if (tenths < 0) {
    put("-");
    tenths = -tenths;
  }
  n += put_unsigned(static_cast<uint64_t>(tenths / 10), text + n);
  if (tenths % 10 != 0) {
    text[n++] = '.';
    text[n++] = static_cast<char>('0' + tenths % 10);
  }
  put(",\"seq\":");
  n += put_unsigned(seq, text + n);
  if (has_ts) {
    put(",\"ts\":");
    n += put_unsigned(ts_ms, text + n);
  }
  put("}");
  if (n >= size) return 0;
  memcpy(out, text, n);
  out[n] = '\0';
  return n;
}

static bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims ASCII whitespace and compares with `word`, without reading past `length`.
static bool equals_trimmed(const uint8_t *payload, size_t length, const char *word) {
  if (payload == nullptr) return false;
  size_t start = 0;
  while (start < length && is_space(payload[start])) start++;
  while (length > start && is_space(payload[length - 1])) length--;
  size_t word_length = strlen(word);
  return length - start == word_length && memcmp(payload + start, word, word_length) == 0;
}

AlertState parse_alert(const uint8_t *payload, size_t length) {
  if (equals_trimmed(payload, length, "1")) return AlertState::kFiring;
  if (equals_trimmed(payload, length, "0")) return AlertState::kClear;
  return AlertState::kUnknown;
}

PeerStatus parse_status(const uint8_t *payload, size_t length) {
  if (equals_trimmed(payload, length, "online")) return PeerStatus::kOnline;
  if (equals_trimmed(payload, length, "offline")) return PeerStatus::kOffline;
  return PeerStatus::kUnknown;
}

static const AnnunciatorState kAnnunciatorStates[] = {
    AnnunciatorState::kNormal,         AnnunciatorState::kUnacked, AnnunciatorState::kAcked,
    AnnunciatorState::kClearedUnacked, AnnunciatorState::kShelved, AnnunciatorState::kOutOfService};

AnnunciatorState parse_annunciator(const uint8_t *payload, size_t length) {
  if (payload == nullptr || equals_trimmed(payload, length, "")) return AnnunciatorState::kAbsent;
  for (AnnunciatorState state : kAnnunciatorStates) {
    if (equals_trimmed(payload, length, annunciator_name(state))) return state;
  }
  return AnnunciatorState::kUnrecognised;
}

const char *alert_name(AlertState state) {
  switch (state) {
    case AlertState::kFiring: return "firing";
    case AlertState::kClear: return "clear";
    case AlertState::kUnknown: break;
  }
  return "unknown";
}

const char *status_name(PeerStatus status) {
  switch (status) {
    case PeerStatus::kOnline: return "online";
    case PeerStatus::kOffline: return "offline";
    case PeerStatus::kUnknown: break;
  }
  return "unknown";
}

const char *annunciator_name(AnnunciatorState state) {
  switch (state) {
    case AnnunciatorState::kNormal: return "normal";
    case AnnunciatorState::kUnacked: return "unacked";
    case AnnunciatorState::kAcked: return "acked";
    case AnnunciatorState::kClearedUnacked: return "cleared-unacked";
    case AnnunciatorState::kShelved: return "shelved";
    case AnnunciatorState::kOutOfService: return "out-of-service";
    case AnnunciatorState::kAbsent: return "none";
    case AnnunciatorState::kUnrecognised: break;
  }
  return "unrecognised";
}

}  // namespace alertloop
