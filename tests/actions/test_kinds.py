"""Each kind's messages, table-driven: what it publishes for a command and what it reads back.
The actuator board's protocol (CONTRACTS.md) is checked here; the simulators on the real broker
are in test_service.py."""

import json

import pytest

from actions.config import parse_actions
from actions.kinds import make_kind
from service_common.mqtt import MqttSettings

MQTT = MqttSettings(client_id="actions")


def kind(**entry):
    problems = []
    _, outputs = parse_actions({"outputs": [{"id": "out", "follows": ["alerts/a"], **entry}]},
                               problems)
    assert not problems, problems
    return make_kind(outputs[0], MQTT)


BOARD = dict(kind="board", device="shed-board", relay=2)
TASMOTA = dict(kind="tasmota", topic="tasmota_1A2B3C", relay=2)
TASMOTA1 = dict(kind="tasmota", topic="plug")
SHELLY = dict(kind="shelly", prefix="shellyplus1-a8", switch=0)
HV = dict(kind="mqtt", command_topic="/hv/cmd/setv/3", command_template="{value}",
          state_topic="/hv/state/3", value_path="vset", on_value=0, off_value=1500, min=0,
          max=2000, tolerance=0.5)
SWITCH = dict(kind="mqtt", command_topic="/hv/cmd/switch/3", payload_on="1", payload_off="0",
              state_topic="/hv/state/switch/3", availability_topic="/hv/online")
OPCUA = dict(kind="opcua", device="tic101", measurement="sp", on_value=20, off_value=50, min=0,
             max=100)


@pytest.mark.parametrize("entry, value, expected", [
    (BOARD, "on", [("actuators/shed-board/2/set", b"on")]),
    (TASMOTA, "off", [("cmnd/tasmota_1A2B3C/POWER2", b"OFF")]),
    (TASMOTA1, "on", [("cmnd/plug/POWER1", b"ON")]),
    (HV, "on", [("/hv/cmd/setv/3", b"0")]),
    (HV, 2500.0, [("/hv/cmd/setv/3", b"2000")]),
    (SWITCH, "on", [("/hv/cmd/switch/3", b"1")]),
    (OPCUA, "off", [("opcua/opcua-bridge/write/tic101/sp", b"50")]),
    (OPCUA, -5.0, [("opcua/opcua-bridge/write/tic101/sp", b"0")]),
], ids=["board", "tasmota", "tasmota-one-relay", "setpoint", "setpoint-clamped", "switch",
        "opcua", "opcua-clamped"])
def test_command(entry, value, expected):
    assert [(m.topic, m.payload) for m in kind(**entry).command(value)] == expected


def test_shelly_command_is_an_rpc_frame_answered_to_us():
    (message,) = kind(**SHELLY).command("on")
    frame = json.loads(message.payload)
    assert message.topic == "shellyplus1-a8/rpc"
    assert (frame["method"], frame["params"], frame["src"]) == ("Switch.Set",
                                                                 {"id": 0, "on": True}, "actions")


@pytest.mark.parametrize("entry, topic, payload, expected", [
    (BOARD, "actuators/shed-board/2/state", b"on", "on"),
    (BOARD, "actuators/shed-board/2/state", b"garbage", "unknown"),
    (BOARD, "actuators/shed-board/1/state", b"on", None),
    (TASMOTA, "stat/tasmota_1A2B3C/POWER2", b"ON", "on"),
    (TASMOTA, "stat/tasmota_1A2B3C/RESULT", b'{"POWER2":"OFF"}', "off"),
    (TASMOTA, "stat/tasmota_1A2B3C/RESULT", b'{"POWER1":"ON"}', None),
    (TASMOTA, "tele/tasmota_1A2B3C/STATE", b'{"POWER2":"ON","Wifi":{}}', "on"),
    (TASMOTA1, "stat/plug/POWER", b"ON", "on"),
    (TASMOTA1, "stat/plug/RESULT", b'{"POWER":"OFF"}', "off"),
    (SHELLY, "shellyplus1-a8/events/rpc",
     b'{"method":"NotifyStatus","params":{"switch:0":{"id":0,"output":true}}}', "on"),
    (SHELLY, "shellyplus1-a8/events/rpc",
     b'{"method":"NotifyStatus","params":{"switch:1":{"id":1,"output":true}}}', None),
    (SHELLY, "shellyplus1-a8/status/switch:0", b'{"id":0,"output":false}', "off"),
    (SHELLY, "actions/rpc", b'{"id":"out:1","result":{"id":0,"output":true}}', "on"),
    (SHELLY, "actions/rpc", b'{"id":"other:1","result":{"id":0,"output":true}}', None),
    (HV, "/hv/state/3", b'{"vset": 0.2}', "on"),
    (HV, "/hv/state/3", b'{"vset": 900}', 900.0),
    (HV, "/hv/state/3", b'{"other": 1}', "unknown"),
    (SWITCH, "/hv/state/switch/3", b"0", "off"),
    (OPCUA, "sensors/tic101/sp", b'{"value": 20.0, "ts": 1}', "on"),
    (OPCUA, "sensors/tic101/sp", b"42", 42.0),
], ids=["board", "board-garbage", "board-other-relay", "tasmota-stat", "tasmota-result",
        "tasmota-other-relay", "tasmota-tele-state", "tasmota-one-relay-stat",
        "tasmota-one-relay-result", "shelly-notify", "shelly-other-switch", "shelly-status",
        "shelly-answer", "shelly-answer-other-output", "setpoint-on", "setpoint-between",
        "setpoint-no-value", "switch", "opcua-json", "opcua-number"])
def test_reported(entry, topic, payload, expected):
    assert kind(**entry).reported(topic, payload) == expected


@pytest.mark.parametrize("entry, topic, payload, expected", [
    (BOARD, "status/shed-board", b"offline", False),
    (TASMOTA, "tele/tasmota_1A2B3C/LWT", b"Online", True),
    (TASMOTA, "tele/tasmota_1A2B3C/LWT", b"Offline", False),
    (SHELLY, "shellyplus1-a8/online", b"false", False),
    (SWITCH, "/hv/online", b"online", True),
    (OPCUA, "status/opcua-bridge", b"online", True),
], ids=["board", "tasmota-online", "tasmota-offline", "shelly", "generic", "opcua"])
def test_available(entry, topic, payload, expected):
    assert kind(**entry).available(topic, payload) is expected


@pytest.mark.parametrize("entry", [BOARD, TASMOTA, SHELLY, HV, OPCUA],
                         ids=["board", "tasmota", "shelly", "mqtt", "opcua"])
def test_command_topics_are_what_command_publishes(entry):
    k = kind(**entry)
    assert {m.topic for m in k.command("on")} <= set(k.command_topics())


class BoardFake:
    """The actuator board's contract (CONTRACTS.md) as a pure function: a command on
    actuators/<device>/<relay>/set sets the relay and answers its retained state."""

    def __init__(self, device, relays=2):
        self.device, self.relays = device, ["off"] * relays

    def receive(self, topic, payload):
        root, device, relay, leaf = topic.split("/")
        if (root, device, leaf) != ("actuators", self.device, "set"):
            return []
        if payload in (b"on", b"off"):
            self.relays[int(relay) - 1] = payload.decode()
        return [(f"actuators/{device}/{relay}/state", self.relays[int(relay) - 1].encode())]


def test_board_kind_against_the_contract():
    board, fake = kind(**BOARD), BoardFake("shed-board")
    for value in ("on", "off", "on"):
        answers = [a for m in board.command(value) for a in fake.receive(m.topic, m.payload)]
        assert [board.reported(t, p) for t, p in answers] == [value]
        assert all(t in board.subscriptions() for t, _ in answers)
