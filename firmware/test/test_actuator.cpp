#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "alertloop/actuator_app.h"
#include "fakes.h"

using namespace alertloop;

namespace {

struct FakeRelays : Relays {
  bool level[kMaxRelays + 1] = {};
  int has_feedback[kMaxRelays + 1] = {};  // 0: none, 1: the contact follows, 2: stuck as `contact`
  bool contact[kMaxRelays + 1] = {};
  void drive(uint8_t relay, bool on) override { level[relay] = on; }
  bool feedback(uint8_t relay, bool &on) override {
    if (has_feedback[relay] == 0) return false;
    on = has_feedback[relay] == 1 ? level[relay] : contact[relay];
    return true;
  }
};

struct ActuatorRig {
  fakes::Clock clock;
  fakes::Network network;
  fakes::Mqtt mqtt;
  FakeRelays relays;
  ConnectionManager connection{network, mqtt, {"relay-a1", "", "", "status"}, ConnectionSettings{}};
  ActuatorApp app;
  bool heartbeat = true;

  explicit ActuatorRig(SafeState safe = SafeState::kOff)
      : app(clock, relays, mqtt, connection, make_settings(safe)) {}
  static ActuatorSettings make_settings(SafeState safe) {
    ActuatorSettings s;
    s.device_id = "relay-a1";
    s.actuators_root = "actuators";
    s.actions_status_topic = "status/actions";
    s.relays = 2;
    s.failsafe_ms = 10000;
    s.safe[0] = safe;
    s.safe[1] = safe;
    return s;
  }
  void deliver(const char *topic, const char *payload) {
    app.on_message(topic, reinterpret_cast<const uint8_t *>(payload), strlen(payload));
  }
  // Every 1000 ms of simulated time the actions service's heartbeat, unless stopped.
  void run(uint32_t ms) {
    for (uint32_t i = 0; i < ms; i += 10) {
      if (heartbeat && clock.now % 1000 == 0) deliver("status/actions", "online");
      app.loop();
      clock.now += 10;
    }
  }
  std::vector<std::string> states(int relay) const {
    return mqtt.payloads_on("actuators/relay-a1/" + std::to_string(relay) + "/state");
  }
};

}  // namespace

TEST_CASE("actuator: subscribes to its own set topics and the actions status, reports at connect") {
  ActuatorRig rig;
  rig.run(10);
  CHECK(rig.mqtt.subscribed == std::vector<std::string>{"status/actions",
                                                        "actuators/relay-a1/1/set",
                                                        "actuators/relay-a1/2/set"});
  CHECK(rig.states(1) == std::vector<std::string>{"off"});
  CHECK(rig.states(2) == std::vector<std::string>{"off"});
  CHECK(rig.mqtt.published.front().retain);
  CHECK(rig.mqtt.payloads_on("status/relay-a1") == std::vector<std::string>{"online"});
}

TEST_CASE("actuator: obeys on and off, reports each change retained, ignores anything else") {
  ActuatorRig rig;
  rig.run(2000);
  rig.deliver("actuators/relay-a1/1/set", "on");
  rig.run(10);
  CHECK(rig.relays.level[1]);
  CHECK(rig.states(1) == std::vector<std::string>{"off", "on"});
  rig.deliver("actuators/relay-a1/1/set", "ON");
  rig.deliver("actuators/relay-a1/3/set", "on");
  rig.deliver("actuators/relay-a1/1/set", "off");
  rig.run(10);
  CHECK_FALSE(rig.relays.level[1]);
  CHECK(rig.states(1) == std::vector<std::string>{"off", "on", "off"});
  CHECK(rig.states(2) == std::vector<std::string>{"off"});
}

TEST_CASE("actuator: a relay with a feedback contact reports the contact, not the level driven") {
  ActuatorRig rig;
  rig.relays.has_feedback[1] = 2;  // stuck open
  rig.run(2000);
  rig.deliver("actuators/relay-a1/1/set", "on");
  rig.run(10);
  CHECK(rig.relays.level[1]);
  CHECK(rig.states(1) == std::vector<std::string>{"off"});
  rig.relays.contact[1] = true;  // it closes after all
  rig.run(10);
  CHECK(rig.states(1) == std::vector<std::string>{"off", "on"});
}

TEST_CASE("actuator: without the broker for failsafe_ms each relay goes to its safe state") {
  struct Case {
    SafeState safe;
    bool level_after;
  } cases[] = {{SafeState::kOff, false}, {SafeState::kOn, true}, {SafeState::kHold, true}};
  for (const auto &c : cases) {
    CAPTURE(safe_state_name(c.safe));
    ActuatorRig rig(c.safe);
    rig.run(2000);
    rig.deliver("actuators/relay-a1/1/set", "on");
    rig.run(10);
    rig.mqtt.link = LinkState::kDisconnected;
    rig.mqtt.accept = false;
    rig.run(9900);
    CHECK_FALSE(rig.app.failsafe());
    CHECK(rig.relays.level[1]);
    rig.run(200);
    CHECK(rig.app.failsafe());
    CHECK(rig.relays.level[1] == c.level_after);
  }
}

TEST_CASE("actuator: no live actions status for failsafe_ms is fail-safe too; commands wait") {
  ActuatorRig rig;
  rig.run(2000);
  rig.deliver("actuators/relay-a1/2/set", "on");
  rig.run(10);
  rig.heartbeat = false;
  rig.deliver("status/actions", "offline");
  rig.run(8000);
  CHECK_FALSE(rig.app.failsafe());
  rig.run(3000);
  CHECK(rig.app.failsafe());
  CHECK_FALSE(rig.relays.level[2]);
  CHECK(rig.states(2).back() == "off");
  rig.deliver("actuators/relay-a1/2/set", "on");
  rig.run(10);
  CHECK_FALSE(rig.relays.level[2]);
  rig.heartbeat = true;
  rig.run(1000);
  CHECK_FALSE(rig.app.failsafe());
  rig.deliver("actuators/relay-a1/2/set", "on");
  rig.run(10);
  CHECK(rig.relays.level[2]);
}

TEST_CASE("actuator: a retained online after (re)subscribing does not keep it out of failsafe") {
  ActuatorRig rig;
  rig.heartbeat = false;
  rig.run(10);
  rig.deliver("status/actions", "online");  // the first one: perhaps the broker's saved copy
  rig.run(10100);
  CHECK(rig.app.failsafe());
}

TEST_CASE("actuator: the safe states parse and print") {
  SafeState state = SafeState::kOff;
  CHECK(parse_safe_state("hold", state));
  CHECK(state == SafeState::kHold);
  CHECK(parse_safe_state("on", state));
  CHECK(state == SafeState::kOn);
  CHECK_FALSE(parse_safe_state("maybe", state));
  CHECK_FALSE(parse_safe_state(nullptr, state));
}

#include "alertloop/actuator_config.h"

TEST_CASE("actuator wiring: pins, feedback pins and safe states from platformio.ini's text") {
  RelayWiring wiring;
  char problem[96] = "";
  REQUIRE(parse_relay_wiring("5, 4", "12,-", "off", wiring, problem, sizeof(problem)));
  CHECK(wiring.count == 2);
  CHECK(wiring.relay_pins[0] == 5);
  CHECK(wiring.relay_pins[1] == 4);
  CHECK(wiring.feedback_pins[0] == 12);
  CHECK(wiring.feedback_pins[1] == kNoPin);
  CHECK(wiring.safe[1] == SafeState::kOff);
  REQUIRE(parse_relay_wiring("5,4", "", "on,hold", wiring, problem, sizeof(problem)));
  CHECK(wiring.feedback_pins[0] == kNoPin);
  CHECK(wiring.safe[0] == SafeState::kOn);
  CHECK(wiring.safe[1] == SafeState::kHold);
  struct Case {
    const char *pins, *feedback, *safe, *problem;
  } bad[] = {
      {"", "", "off", "relay_pins"},
      {"5,,4", "", "off", "relay_pins"},
      {"D1", "", "off", "relay_pins"},
      {"1,2,3,4,5,6,7,8,9", "", "off", "relay_pins"},
      {"5,4", "12", "off", "feedback_pins"},
      {"5,4", "12,x", "off", "feedback_pins"},
      {"5,4", "", "off,on,hold", "safe_states"},
      {"5", "", "maybe", "safe_states"},
  };
  for (const auto &c : bad) {
    CAPTURE(c.pins);
    CAPTURE(c.feedback);
    CAPTURE(c.safe);
    CHECK_FALSE(parse_relay_wiring(c.pins, c.feedback, c.safe, wiring, problem, sizeof(problem)));
    CHECK(std::string(problem).rfind(c.problem, 0) == 0);
  }
}

TEST_CASE("the shipped platformio.ini settings are ones the boards accept") {
  char problem[96] = "";
  RelayWiring relays;
  CHECK(parse_relay_wiring(SHIPPED_RELAY_PINS, SHIPPED_FEEDBACK_PINS, SHIPPED_SAFE_STATES, relays,
                           problem, sizeof(problem)));
  CAPTURE(problem);
  CHECK(relays.count == 2);
}
