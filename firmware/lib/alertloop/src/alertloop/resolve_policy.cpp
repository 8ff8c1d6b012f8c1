#include "alertloop/resolve_policy.h"

namespace alertloop {

bool is_ipv4_literal(const char *host) {
  if (host == nullptr) return false;
  const char *c = host;
  for (int part = 0; part < 4; part++) {
    if (part > 0 && *c++ != '.') return false;
    int digits = 0;
    uint32_t value = 0;
    while (*c >= '0' && *c <= '9' && digits < 4) {
      value = value * 10 + static_cast<uint32_t>(*c++ - '0');
      digits++;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
  }
  return *c == '\0';
}

ResolvePolicy::ResolvePolicy(bool literal_address, uint8_t reresolve_after)
    : literal_(literal_address), reresolve_after_(reresolve_after == 0 ? 1 : reresolve_after) {}

bool ResolvePolicy::should_resolve() const {
  return !literal_ && (!have_address_ || failures_ >= reresolve_after_);
}

void ResolvePolicy::resolved(bool ok) {
  if (ok) have_address_ = true;
  failures_ = 0;
}

void ResolvePolicy::connect_failed() {
  if (failures_ < reresolve_after_) failures_++;
}

}  // namespace alertloop
