#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "alertloop/presence.h"
#include "fakes.h"

using alertloop::Presence;

TEST_CASE("presence: status topic, Last Will, online, and offline before a clean disconnect") {
  Presence presence("status", "esp8266-d1d2d3");
  REQUIRE(presence.ok());
  CHECK(std::string(presence.topic()) == "status/esp8266-d1d2d3");
  alertloop::ConnectOptions options = presence.connect_options("user", "secret");
  CHECK(std::string(options.client_id) == "esp8266-d1d2d3");
  CHECK(std::string(options.username) == "user");
  CHECK(std::string(options.will_topic) == "status/esp8266-d1d2d3");
  CHECK(std::string(options.will_payload) == "offline");

  fakes::Mqtt mqtt;
  mqtt.link = alertloop::LinkState::kConnected;
  CHECK(presence.announce(mqtt));
  presence.leave(mqtt);
  REQUIRE(mqtt.published.size() == 2);
  CHECK(mqtt.published[0].payload == "online");
  CHECK(mqtt.published[1].payload == "offline");
  for (const auto &p : mqtt.published) {
    CHECK(p.topic == "status/esp8266-d1d2d3");
    CHECK(p.retain);
    CHECK(p.qos == 1);
  }
  CHECK(mqtt.disconnects == 1);
}

TEST_CASE("presence: a status topic that does not fit is reported") {
  std::string long_id(alertloop::kTopicSize, 'x');
  Presence presence("status", long_id.c_str());
  CHECK_FALSE(presence.ok());
}
