"""The opcua kind through the real bridge (`python -m opcua_bridge`) and the OPC UA test server
(devstack/opcua_server.py): the actions service writes a node declared writable, and the node's
value coming back as a reading confirms it."""

import json
import sys

import pytest

from devstack.paths import ROOT
from devstack.servers import OpcUaServer, Service
from tests.support.opcua import SIM
from tests.support.servers import starter

pytest.importorskip("asyncua")

ALERT = "alerts/loop-deviation/sim"
NODES = f"""
publishing_interval_ms: 100
sampling_interval_ms: 50
nodes:
  - {{node: "{SIM}User1", device: sim, measurement: user1, writable: true, min: -10, max: 50}}
"""
ACTIONS = f"""outputs:
  - id: user1-safe
    kind: opcua
    device: sim
    measurement: user1
    on_value: 40
    off_value: 0
    min: -10
    max: 45
    tolerance: 0.01
    confirm_timeout_s: 2
    follows: [{ALERT}]
"""


@pytest.fixture
def opcua_factory():
    yield from starter(OpcUaServer)


@pytest.fixture
def bridge(mosquitto, opcua_factory, tmp_path):
    server = opcua_factory(security="none")
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(NODES)
    service = Service("opcua-bridge", [sys.executable, "-m", "opcua_bridge"], env={
        "PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": server.endpoint, "OPCUA_NODES": str(nodes),
        "OPCUA_HEARTBEAT": str(tmp_path / "bridge.heartbeat"), "MQTT_HOST": mosquitto.host,
        "MQTT_PORT": str(mosquitto.port)}, workdir=tmp_path / "bridge")
    service.start()
    yield service
    service.close()


def test_a_setpoint_written_through_the_bridge_is_confirmed(alarm_source, observer,
                                                           actions_service, bridge):
    alarm_source.set(ALERT, b"0")
    actions_service(ACTIONS)
    observer.wait_state("user1-safe", reported="off", confirmed=True, available=True)
    alarm_source.set(ALERT, b"1")
    observer.wait_state("user1-safe", commanded="on", reported="on", confirmed=True)
    assert observer.payloads("opcua/opcua-bridge/write/sim/user1")[-1] == b"40"
    # Hand with a number beyond the output's own limit: clamped here (45), before the bridge's.
    observer.publish("actions/user1-safe/mode/set",
                     json.dumps({"mode": "hand", "value": 1000, "by": "alice"}))
    observer.wait_state("user1-safe", mode="hand", commanded=45.0, reported=45.0,
                        confirmed=True)
    alarm_source.set(ALERT, b"0")
    observer.publish("actions/user1-safe/mode/set", json.dumps({"mode": "auto", "by": "alice"}))
    observer.wait_state("user1-safe", mode="auto", commanded="off", reported="off",
                        confirmed=True)
