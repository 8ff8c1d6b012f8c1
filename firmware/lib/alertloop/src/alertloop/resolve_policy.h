// When a board looks the broker's name up. A lookup blocks loop() (up to kDnsTimeoutMs on the
// ESP8266, ~15 s on the ESP32 whose core has no timeout argument, while the LEDs stop), so: once, then the address is reused for every
// reconnect; again only after kReresolveAfterFailures failed connect attempts in a row (the
// broker may have moved). A failed lookup keeps the previous address, if any. A numeric IPv4
// address is never looked up.
#pragma once

#include <cstdint>

namespace alertloop {

static const uint8_t kReresolveAfterFailures = 3;
// The ESP8266 core's two-argument hostByName() waits up to 10 s; the boards pass this instead.
static const uint32_t kDnsTimeoutMs = 5000;

// "192.168.1.10": four decimal numbers 0-255, nothing else.
bool is_ipv4_literal(const char *host);

class ResolvePolicy {
 public:
  explicit ResolvePolicy(bool literal_address,
                         uint8_t reresolve_after = kReresolveAfterFailures);

  // Look the name up before this connect attempt?
  bool should_resolve() const;
  void resolved(bool ok);
  // Is there an address to connect to (a literal, or a lookup that succeeded once)?
  bool has_address() const { return literal_ || have_address_; }
  void connect_failed();
  void connected() { failures_ = 0; }

 private:
  bool literal_;
  uint8_t reresolve_after_;
  bool have_address_ = false;
  uint8_t failures_ = 0;
};

}  // namespace alertloop
