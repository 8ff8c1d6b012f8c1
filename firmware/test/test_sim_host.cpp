#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "adc_lines.h"
#include "input_lines.h"
#include "mosquitto_link.h"
#include "sim_options.h"

using host::LineAdc;
using host::parse_adc_line;
using host::parse_sim_options;
using host::SimKind;
using host::SimOptions;

TEST_CASE("ADC lines") {
  struct Case {
    const char *line;
    bool ok;
    uint16_t value;
  } cases[] = {{"0", true, 0},       {"4095", true, 4095}, {" 2048\r", true, 2048},
               {"4096", false, 0},   {"-1", false, 0},     {"12.5", false, 0},
               {"abc", false, 0},    {"", false, 0},       {"0x10", false, 0},
               {"1 2", false, 0},    {"00001", false, 0}};
  for (const auto &c : cases) {
    CAPTURE(c.line);
    uint16_t value = 0;
    CHECK(parse_adc_line(c.line, value) == c.ok);
    if (c.ok) CHECK(value == c.value);
  }
}

TEST_CASE("LineAdc holds the last good line, across partial reads, and counts bad ones") {
  LineAdc adc;
  CHECK_FALSE(adc.ready());
  adc.feed("20", 2);
  CHECK_FALSE(adc.ready());
  adc.feed("48\nbad\n\n", 9);
  CHECK(adc.ready());
  CHECK(adc.read_raw() == 2048);
  CHECK(adc.ignored() == 1);  // blank lines are skipped silently
  std::string overlong(200, '1');
  overlong += "\n4095\n";
  adc.feed(overlong.data(), overlong.size());
  CHECK(adc.read_raw() == 4095);
  CHECK(adc.ignored() == 2);
}

TEST_CASE("indicator-sim's press lines") {
  struct Case {
    const char *line;
    bool press;
  } cases[] = {{"press", true},  {" press\r", true}, {"\tpress ", true}, {"Press", false},
               {"press 2", false}, {"pres", false},   {"", false}};
  for (const auto &c : cases) {
    CAPTURE(c.line);
    CHECK(host::is_word(c.line, "press") == c.press);
  }
  host::InputLines lines("press");
  int presses = 0;
  auto accept = [&presses](const std::string &line) {
    if (!host::is_word(line, "press")) return false;
    presses++;
    return true;
  };
  std::string input = "press\npre";
  lines.feed(input.data(), input.size(), accept);
  input = "ss\n\nbutton\npress\n";
  lines.feed(input.data(), input.size(), accept);
  CHECK(presses == 3);
  CHECK(lines.ignored() == 1);
}

namespace {

bool parse(SimKind kind, std::vector<const char *> args, SimOptions &options, std::string &error) {
  args.insert(args.begin(), "sim");
  return parse_sim_options(kind, static_cast<int>(args.size()), args.data(), options, error);
}

}  // namespace

TEST_CASE("simulator command lines") {
  struct Case {
    const char *name;
    SimKind kind;
    std::vector<const char *> args;
    const char *error;  // "" when valid
  } cases[] = {
      {"sensor minimal", SimKind::kSensor, {"--host", "h", "--port", "1883", "--device-id", "d"}, ""},
      {"sensor all", SimKind::kSensor,
       {"--host", "h", "--port=1", "--username", "u", "--password", "p", "--device-id", "d",
        "--interval-ms", "100", "--backoff-max-ms", "500"}, ""},
      {"indicator minimal", SimKind::kIndicator,
       {"--host", "h", "--port", "1883", "--device-id", "d", "--topic", "alerts/x"}, ""},
      {"missing everything", SimKind::kSensor, {}, "missing: --host --port --device-id"},
      {"indicator without topic", SimKind::kIndicator,
       {"--host", "h", "--port", "1883", "--device-id", "d"}, "missing: --topic"},
      {"bad port", SimKind::kSensor, {"--host", "h", "--port", "99999", "--device-id", "d"},
       "--port must be 1-65535, got '99999'"},
      {"value missing", SimKind::kSensor, {"--host"}, "--host needs a value"},
      {"unknown option", SimKind::kSensor, {"--colour", "red"}, "unknown option --colour"},
      {"topic is indicator-only", SimKind::kSensor, {"--topic", "x"}, "unknown option --topic"},
      {"interval is sensor-only", SimKind::kIndicator, {"--interval-ms", "5"},
       "unknown option --interval-ms"},
      {"password without user", SimKind::kSensor,
       {"--host", "h", "--port", "1", "--device-id", "d", "--password", "p"},
       "--password needs --username"},
      {"wildcard device", SimKind::kSensor, {"--host", "h", "--port", "1", "--device-id", "a/#"},
       "--device-id must not contain / + or #"},
      {"wildcard topic", SimKind::kIndicator,
       {"--host", "h", "--port", "1", "--device-id", "d", "--topic", "alerts/#"},
       "topics must not contain wildcards (+ or #)"},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    SimOptions options;
    std::string error;
    CHECK(parse(c.kind, c.args, options, error) == (std::string(c.error).empty()));
    CHECK(error == c.error);
  }
}

TEST_CASE("simulator defaults") {
  SimOptions options;
  std::string error;
  REQUIRE(parse(SimKind::kIndicator,
                {"--host", "h", "--port", "1883", "--device-id", "d", "--topic", "alerts/x"},
                options, error));
  CHECK(options.webhook_status_topic == "status/webhook");
  CHECK(options.backoff_max_ms == 2000);
  CHECK(options.interval_ms == 500);
}

TEST_CASE("the simulators' MQTT link sends each packet at once (TCP_NODELAY)") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0);
  REQUIRE(listen(listener, 1) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) == 0);
  mosquitto_lib_init();
  {
    host::MosquittoLink link("127.0.0.1", ntohs(address.sin_port), 60);
    REQUIRE(link.connect({"nodelay-test", nullptr, nullptr, nullptr, nullptr}));
    int flag = 0;
    socklen_t size = sizeof(flag);
    REQUIRE(getsockopt(link.socket(), IPPROTO_TCP, TCP_NODELAY, &flag, &size) == 0);
    CHECK(flag != 0);
  }
  mosquitto_lib_cleanup();
  close(listener);
}
