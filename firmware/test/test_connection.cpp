#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "alertloop/backoff.h"
#include "alertloop/connection.h"
#include "alertloop/log.h"
#include "fakes.h"

using alertloop::Backoff;
using alertloop::ConnectionEvent;
using alertloop::ConnectionManager;
using alertloop::ConnectionPhase;
using alertloop::ConnectionSettings;
using alertloop::LinkState;

TEST_CASE("back-off doubles up to its cap and starts again after reset") {
  Backoff backoff(500, 30000);
  std::vector<uint32_t> delays;
  for (int i = 0; i < 9; i++) delays.push_back(backoff.next_delay_ms());
  CHECK(delays == std::vector<uint32_t>{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});
  backoff.reset();
  CHECK(backoff.next_delay_ms() == 500);
}

TEST_CASE("back-off with odd values never exceeds the cap nor stalls at zero") {
  struct Case {
    const char *name;
    uint32_t initial, max;
    std::vector<uint32_t> expected;
  } cases[] = {
      {"cap not a power of two", 100, 250, {100, 200, 250, 250}},
      {"cap below initial is raised to initial", 400, 100, {400, 400, 400, 400}},
      {"zero initial becomes 1 ms", 0, 4, {1, 2, 4, 4}},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    Backoff backoff(c.initial, c.max);
    std::vector<uint32_t> got;
    for (size_t i = 0; i < c.expected.size(); i++) got.push_back(backoff.next_delay_ms());
    CHECK(got == c.expected);
  }
}

namespace {

struct Rig {
  fakes::Network network;
  fakes::Mqtt mqtt;
  ConnectionSettings settings;
  alertloop::Identity identity{"dev-1", "", "", "status"};

  Rig() {
    settings.backoff_initial_ms = 100;
    settings.backoff_max_ms = 400;
    settings.network_retry_ms = 5000;
    settings.connect_timeout_ms = 1000;
    settings.reboot_after_ms = 60000;
  }
};

}  // namespace

TEST_CASE("connects at once and reports the event exactly once") {
  Rig rig;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  CHECK(manager.loop(0) == ConnectionEvent::kConnected);
  CHECK(manager.connected());
  CHECK(manager.loop(10) == ConnectionEvent::kNone);
  CHECK(rig.mqtt.will_topic == "status/dev-1");
  CHECK(rig.mqtt.will_payload == "offline");
}

TEST_CASE("failed attempts are retried on the capped back-off schedule, never sooner") {
  Rig rig;
  rig.mqtt.accept = false;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  std::vector<uint32_t> attempt_times;
  for (uint32_t now = 0; now <= 2000; now++) {
    int before = rig.mqtt.connects;
    manager.loop(now);
    if (rig.mqtt.connects != before) attempt_times.push_back(now);
  }
  // 100, 200, 400, then 400 ms apart.
  CHECK(attempt_times == std::vector<uint32_t>{0, 100, 300, 700, 1100, 1500, 1900});
  CHECK(manager.phase() == ConnectionPhase::kWaiting);
}

TEST_CASE("a lost link is reported, retried after back-off, and the back-off resets on success") {
  Rig rig;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(0);
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  CHECK(manager.loop(1000) == ConnectionEvent::kDisconnected);
  CHECK_FALSE(manager.connected());
  CHECK(manager.loop(1099) == ConnectionEvent::kNone);
  CHECK(rig.mqtt.connects == 1);
  manager.loop(1100);
  CHECK(rig.mqtt.connects == 2);
  rig.mqtt.accept = true;
  CHECK(manager.loop(1300) == ConnectionEvent::kConnected);
  rig.mqtt.link = LinkState::kDisconnected;
  manager.loop(2000);
  CHECK(manager.next_attempt_in_ms(2000) == 100);
}

TEST_CASE("an asynchronous connect waits for CONNACK, and gives up after the timeout") {
  Rig rig;
  rig.mqtt.async = true;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  CHECK(manager.loop(0) == ConnectionEvent::kNone);
  CHECK(manager.phase() == ConnectionPhase::kConnecting);
  CHECK(manager.loop(999) == ConnectionEvent::kNone);
  manager.loop(1000);
  CHECK(manager.phase() == ConnectionPhase::kWaiting);
  CHECK(rig.mqtt.disconnects == 1);

  manager.loop(1100);
  CHECK(manager.phase() == ConnectionPhase::kConnecting);
  rig.mqtt.link = LinkState::kConnected;
  CHECK(manager.loop(1150) == ConnectionEvent::kConnected);
}

TEST_CASE("a refused connection (CONNACK error) counts as a failed attempt") {
  Rig rig;
  rig.mqtt.async = true;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(0);
  rig.mqtt.link = LinkState::kDisconnected;
  manager.loop(5);
  CHECK(manager.phase() == ConnectionPhase::kWaiting);
  CHECK(manager.next_attempt_in_ms(5) == 100);
}

TEST_CASE("without network it joins, rejoins after network_retry_ms, and never tries MQTT") {
  Rig rig;
  rig.network.up = false;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(0);
  manager.loop(4999);
  CHECK(rig.network.begins == 1);
  manager.loop(5000);
  CHECK(rig.network.begins == 2);
  CHECK(rig.mqtt.connects == 0);
  rig.network.up = true;
  CHECK(manager.loop(5001) == ConnectionEvent::kConnected);
}

TEST_CASE("losing the network while connected is a disconnect") {
  Rig rig;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(0);
  rig.network.up = false;
  CHECK(manager.loop(10) == ConnectionEvent::kDisconnected);
  CHECK(manager.phase() == ConnectionPhase::kNetworkDown);
}

TEST_CASE("asks for a reboot only after reboot_after_ms offline") {
  Rig rig;
  rig.mqtt.accept = false;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(1000);
  CHECK_FALSE(manager.should_reboot(60999));
  CHECK(manager.should_reboot(61000));

  rig.settings.reboot_after_ms = 0;
  ConnectionManager never(rig.network, rig.mqtt, rig.identity, rig.settings);
  never.loop(0);
  CHECK_FALSE(never.should_reboot(1000000000));
}

TEST_CASE("the reboot clock restarts from the moment a connected link is lost") {
  Rig rig;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  manager.loop(0);
  CHECK_FALSE(manager.should_reboot(100000));
  rig.mqtt.link = LinkState::kDisconnected;
  rig.mqtt.accept = false;
  manager.loop(100000);
  CHECK_FALSE(manager.should_reboot(159999));
  CHECK(manager.should_reboot(160000));
}

TEST_CASE("retries, the connect timeout and the reboot clock survive millis() wrapping") {
  const uint32_t start = 0xFFFFFF00u;  // 256 ms before millis() wraps to 0
  Rig rig;
  rig.mqtt.accept = false;
  ConnectionManager manager(rig.network, rig.mqtt, rig.identity, rig.settings);
  std::vector<uint32_t> attempt_offsets;
  for (uint32_t offset = 0; offset <= 800; offset++) {
    int before = rig.mqtt.connects;
    manager.loop(start + offset);
    if (rig.mqtt.connects != before) attempt_offsets.push_back(offset);
  }
  CHECK(attempt_offsets == std::vector<uint32_t>{0, 100, 300, 700});
  CHECK_FALSE(manager.should_reboot(start + 59999));
  CHECK(manager.should_reboot(start + 60000));

  rig.mqtt.accept = true;
  rig.mqtt.async = true;
  manager.loop(start + 1100);
  CHECK(manager.phase() == ConnectionPhase::kConnecting);
  manager.loop(start + 2099);
  CHECK(manager.phase() == ConnectionPhase::kConnecting);
  manager.loop(start + 2100);
  CHECK(manager.phase() == ConnectionPhase::kWaiting);
}

namespace {

std::vector<std::string> dumped;

std::string dump_of(ConnectionManager &manager) {
  dumped.clear();
  alertloop::set_log_sink([](const char *line) { dumped.push_back(line); });
  manager.dump_config();
  alertloop::set_log_sink(nullptr);
  std::string all;
  for (const auto &line : dumped) all += line + "\n";
  return all;
}

}  // namespace

TEST_CASE("the dump states the connect timeout that applies: the link's own when connect() blocks") {
  Rig rig;
  rig.settings.connect_timeout_ms = 10000;
  rig.mqtt.blocking_ms = 2000;  // a board: PubSubClient waits 2 s for CONNACK inside connect()
  ConnectionManager board(rig.network, rig.mqtt, rig.identity, rig.settings);
  std::string text = dump_of(board);
  CHECK(text.find("connect() blocks for CONNACK up to 2000 ms") != std::string::npos);
  CHECK(text.find("10000") == std::string::npos);
  rig.mqtt.blocking_ms = 0;  // a simulator: libmosquitto connects in the background
  ConnectionManager sim(rig.network, rig.mqtt, rig.identity, rig.settings);
  CHECK(dump_of(sim).find("connect timeout 10000 ms") != std::string::npos);
}
