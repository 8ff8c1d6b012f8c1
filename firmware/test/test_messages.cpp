#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <string>

#include "alertloop/board_config.h"
#include "alertloop/messages.h"

using namespace alertloop;

TEST_CASE("device ids are the board prefix and the last 3 MAC bytes in lower-case hex") {
  const uint8_t mac[6] = {0x24, 0x6F, 0x28, 0xA1, 0xB2, 0x0C};
  char out[kDeviceIdSize];
  REQUIRE(format_device_id("esp32", mac, out, sizeof(out)));
  CHECK(std::string(out) == "esp32-a1b20c");
  char small[8];
  CHECK_FALSE(format_device_id("esp32", mac, small, sizeof(small)));
}

TEST_CASE("device ids that work as client ids and inside topics") {
  struct Case {
    const char *name;
    const char *id;
    bool ok;
  } cases[] = {
      {"made from the MAC", "esp32-a1b2c3", true},
      {"configured name", "pot sensor 1", true},
      {"empty", "", false},
      {"null", nullptr, false},
      {"slash makes another topic level", "kitchen/pot", false},
      {"single-level wildcard", "pot+", false},
      {"multi-level wildcard", "pot#", false},
      {"longest that fits", "123456789012345678901234567890123456789", true},
      {"one too long", "1234567890123456789012345678901234567890", false},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    CHECK(device_id_ok(c.id) == c.ok);
  }
}

TEST_CASE("topics") {
  struct Case {
    const char *name;
    const char *root, *device, *measurement, *expected;
  } cases[] = {
      {"reading", "sensors", "esp32-a1b2c3", "pot", "sensors/esp32-a1b2c3/pot"},
      {"status", "status", "esp32-a1b2c3", nullptr, "status/esp32-a1b2c3"},
      {"blog-style root", "/pot", "dev", "pot", "/pot/dev/pot"},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    char out[kTopicSize];
    REQUIRE(format_topic(c.root, c.device, c.measurement, out, sizeof(out)));
    CHECK(std::string(out) == c.expected);
  }
  char small[10];
  CHECK_FALSE(format_topic("sensors", "esp32-a1b2c3", "pot", small, sizeof(small)));
}

TEST_CASE("reading payloads: JSON, one decimal at most, ts only once the clock is set") {
  struct Case {
    const char *name;
    int32_t tenths;
    uint32_t seq;
    bool has_ts;
    uint64_t ts;
    const char *expected;
  } cases[] = {
      {"zero", 0, 0, false, 0, R"({"value":0,"seq":0})"},
      {"full scale", 1000, 1, false, 0, R"({"value":100,"seq":1})"},
      {"one decimal", 501, 2, false, 0, R"({"value":50.1,"seq":2})"},
      {"below one", 7, 3, false, 0, R"({"value":0.7,"seq":3})"},
      {"with ts", 425, 4294967295u, true, 1700000000123ull,
       R"({"value":42.5,"seq":4294967295,"ts":1700000000123})"},
      {"negative (never produced, still valid JSON)", -15, 5, false, 0, R"({"value":-1.5,"seq":5})"},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    char out[kPayloadSize];
    size_t length = format_reading(c.tenths, c.seq, c.has_ts, c.ts, out, sizeof(out));
    CHECK(std::string(out) == c.expected);
    CHECK(length == strlen(c.expected));
  }
  char small[10];
  CHECK(format_reading(500, 1, false, 0, small, sizeof(small)) == 0);
}

TEST_CASE("alert payloads") {
  struct Case {
    const char *name;
    const char *payload;
    AlertState expected;
  } cases[] = {
      {"firing", "1", AlertState::kFiring},
      {"clear", "0", AlertState::kClear},
      {"trailing newline", "1\n", AlertState::kFiring},
      {"surrounding spaces", " 0 ", AlertState::kClear},
      {"empty (retained message deleted)", "", AlertState::kUnknown},
      {"word", "firing", AlertState::kUnknown},
      {"two digits", "10", AlertState::kUnknown},
      {"other digit", "2", AlertState::kUnknown},
      {"json", "{\"state\":1}", AlertState::kUnknown},
      {"only spaces", "  ", AlertState::kUnknown},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    CHECK(parse_alert(reinterpret_cast<const uint8_t *>(c.payload), strlen(c.payload)) ==
          c.expected);
  }
}

TEST_CASE("alert payloads are read by length, never up to a terminator") {
  const uint8_t buffer[] = {'1', '0', '0', 'x'};  // no terminator anywhere
  CHECK(parse_alert(buffer, 1) == AlertState::kFiring);
  CHECK(parse_alert(buffer + 1, 1) == AlertState::kClear);
  CHECK(parse_alert(buffer, 2) == AlertState::kUnknown);
  CHECK(parse_alert(buffer, 0) == AlertState::kUnknown);
  CHECK(parse_alert(nullptr, 0) == AlertState::kUnknown);
}

TEST_CASE("status payloads") {
  struct Case {
    const char *name;
    const char *payload;
    PeerStatus expected;
  } cases[] = {
      {"online", "online", PeerStatus::kOnline},
      {"offline", "offline", PeerStatus::kOffline},
      {"empty", "", PeerStatus::kUnknown},
      {"upper case", "OFFLINE", PeerStatus::kUnknown},
      {"prefix only", "off", PeerStatus::kUnknown},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    CHECK(parse_status(reinterpret_cast<const uint8_t *>(c.payload), strlen(c.payload)) ==
          c.expected);
  }
}

TEST_CASE("annunciator payloads: the four ISA-18.2 states, none, or unrecognised") {
  struct Case {
    const char *name;
    const char *payload;
    AnnunciatorState expected;
  } cases[] = {
      {"normal", "normal", AnnunciatorState::kNormal},
      {"unacked", "unacked", AnnunciatorState::kUnacked},
      {"acked", "acked", AnnunciatorState::kAcked},
      {"cleared-unacked", "cleared-unacked", AnnunciatorState::kClearedUnacked},
      {"shelved", "shelved", AnnunciatorState::kShelved},
      {"out-of-service", "out-of-service", AnnunciatorState::kOutOfService},
      {"trailing newline", "acked\n", AnnunciatorState::kAcked},
      {"empty (retained state deleted)", "", AnnunciatorState::kAbsent},
      {"only spaces", "  ", AnnunciatorState::kAbsent},
      {"upper case", "UNACKED", AnnunciatorState::kUnrecognised},
      {"a 1/0 payload", "1", AnnunciatorState::kUnrecognised},
      {"prefix", "cleared", AnnunciatorState::kUnrecognised},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    AnnunciatorState got =
        parse_annunciator(reinterpret_cast<const uint8_t *>(c.payload), strlen(c.payload));
    CHECK(got == c.expected);
  }
  CHECK(parse_annunciator(nullptr, 0) == AnnunciatorState::kAbsent);
  const uint8_t unterminated[] = {'a', 'c', 'k', 'e', 'd', 'x'};
  CHECK(parse_annunciator(unterminated, 5) == AnnunciatorState::kAcked);
}

TEST_CASE("state names round-trip where the payload is the name") {
  for (AnnunciatorState state : {AnnunciatorState::kNormal, AnnunciatorState::kUnacked,
                                 AnnunciatorState::kAcked, AnnunciatorState::kClearedUnacked}) {
    const char *name = annunciator_name(state);
    CHECK(parse_annunciator(reinterpret_cast<const uint8_t *>(name), strlen(name)) == state);
  }
  CHECK(std::string(alert_name(AlertState::kFiring)) == "firing");
  CHECK(std::string(status_name(PeerStatus::kOffline)) == "offline");
}

TEST_CASE("subtopics of the alert topic") {
  char out[kTopicSize];
  REQUIRE(subtopic("alerts/pot-high", kAckLevel, out, sizeof(out)));
  CHECK(std::string(out) == "alerts/pot-high/ack");
  REQUIRE(subtopic("alerts/pot-high/esp32-a1b2c3", kAnnunciatorLevel, out, sizeof(out)));
  CHECK(std::string(out) == "alerts/pot-high/esp32-a1b2c3/annunciator");
  char small[16];
  CHECK_FALSE(subtopic("alerts/pot-high", kAnnunciatorLevel, small, sizeof(small)));
}

TEST_CASE("parse_port") {
  struct Case {
    const char *text;
    uint16_t expected;
  } cases[] = {{"1883", 1883}, {"65535", 65535}, {"65536", 0}, {"0", 0},
               {"", 0},        {"18a3", 0},      {"-1", 0},    {" 1883", 0}};
  for (const auto &c : cases) {
    CAPTURE(c.text);
    CHECK(parse_port(c.text) == c.expected);
  }
  CHECK(parse_port(nullptr) == 0);
}

TEST_CASE("secrets check names every missing setting in one message") {
  struct Case {
    const char *name;
    BoardSecrets secrets;
    bool ok;
    const char *message;
  } cases[] = {
      {"complete", {"home", "pw", "broker.lan", "1883"}, true, ""},
      {"open network (empty password is allowed)", {"home", "", "broker.lan", "1883"}, true, ""},
      {"nothing set (no secrets.ini)", {"", "", "", ""}, false,
       "missing or invalid in secrets.ini: wifi_ssid, mqtt_host, mqtt_port"},
      {"bad port", {"home", "pw", "broker.lan", "18 83"}, false,
       "missing or invalid in secrets.ini: mqtt_port"},
      {"configured device id", {"home", "pw", "broker.lan", "1883", "pot-1"}, true, ""},
      {"device id with a wildcard", {"home", "pw", "broker.lan", "1883", "pot#1"}, false,
       "missing or invalid in secrets.ini: device_id"},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    char out[128] = "";
    CHECK(check_secrets(c.secrets, out, sizeof(out)) == c.ok);
    CHECK(std::string(out) == c.message);
  }
}
