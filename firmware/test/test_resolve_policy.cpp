#include <doctest/doctest.h>

#include "alertloop/resolve_policy.h"

using alertloop::is_ipv4_literal;
using alertloop::ResolvePolicy;

TEST_CASE("numeric IPv4 addresses are recognised, names are not") {
  struct Case {
    const char *host;
    bool literal;
  } cases[] = {{"192.168.1.10", true}, {"10.0.0.1", true},       {"255.255.255.255", true},
               {"0.0.0.0", true},      {"256.1.1.1", false},     {"1.2.3", false},
               {"1.2.3.4.5", false},   {"1.2.3.4 ", false},      {"broker.local", false},
               {"pi", false},          {"", false},              {nullptr, false},
               {"1..2.3", false},      {"0001.2.3.4", false}};
  for (const auto &c : cases) {
    CAPTURE((c.host ? c.host : "(null)"));
    CHECK(is_ipv4_literal(c.host) == c.literal);
  }
}

TEST_CASE("a literal address is never looked up") {
  ResolvePolicy policy(true);
  CHECK(policy.has_address());
  for (int i = 0; i < 10; i++) {
    CHECK_FALSE(policy.should_resolve());
    policy.connect_failed();
  }
}

TEST_CASE("a name is looked up once, then the address is reused across reconnects") {
  ResolvePolicy policy(false);
  CHECK(policy.should_resolve());
  CHECK_FALSE(policy.has_address());
  policy.resolved(true);
  CHECK_FALSE(policy.should_resolve());
  policy.connected();
  // The link drops and comes back a few times: one failed attempt each, no lookup.
  for (int i = 0; i < 5; i++) {
    policy.connect_failed();
    CHECK_FALSE(policy.should_resolve());
    policy.connected();
  }
}

TEST_CASE("three failed attempts in a row look the name up again") {
  ResolvePolicy policy(false);
  policy.resolved(true);
  policy.connect_failed();
  policy.connect_failed();
  CHECK_FALSE(policy.should_resolve());
  policy.connect_failed();
  CHECK(policy.should_resolve());
  policy.resolved(true);
  CHECK_FALSE(policy.should_resolve());
}

TEST_CASE("a failed lookup keeps the previous address for three more attempts") {
  ResolvePolicy policy(false);
  policy.resolved(true);
  for (int i = 0; i < 3; i++) policy.connect_failed();
  REQUIRE(policy.should_resolve());
  policy.resolved(false);
  CHECK(policy.has_address());
  CHECK_FALSE(policy.should_resolve());
  for (int i = 0; i < 3; i++) policy.connect_failed();
  CHECK(policy.should_resolve());
}

TEST_CASE("without any address yet, every attempt looks the name up") {
  ResolvePolicy policy(false);
  for (int i = 0; i < 4; i++) {
    CHECK(policy.should_resolve());
    policy.resolved(false);
    CHECK_FALSE(policy.has_address());
  }
}
