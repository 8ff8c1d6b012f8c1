"""OPC UA writes through the bridge (CONTRACTS.md): only nodes declared `writable` with limits,
clamped, confirmed by the value coming back as the normal reading; everything else refused,
counted and logged. Against the real test server and broker."""

import pytest

from service_common.opcua import nodes_file
from tests.support.opcua import PLANT, PLANT_URI, SIM

NODES = f"""
publishing_interval_ms: 100
sampling_interval_ms: 50
nodes:
  - {{node: "{SIM}User1", device: sim, measurement: user1, writable: true, min: -10, max: 50}}
  - {{node: "{SIM}Ramp1", device: sim, measurement: ramp1}}
loops:
  - id: tic101
    pv: "{PLANT_URI}PV"
    sp: {{node: "{PLANT_URI}SP", writable: true, min: 20, max: 80}}
    out: "{PLANT_URI}OUT"
"""


def test_writes_are_clamped_confirmed_and_the_rest_refused(opcua_server, mosquitto, probe,
                                                         bridge_factory):
    def write(device, measurement, payload, retain=False):
        probe.publish(f"opcua/opcua-bridge/write/{device}/{measurement}", payload, retain=retain)

    # A retained write (delivered as retained when the bridge subscribes) is never applied.
    write("sim", "user1", "7", retain=True)
    bridge = bridge_factory(opcua_server, NODES)
    bridge.wait_counter("write_refused", lambda n: n == 1)
    write("sim", "user1", "", retain=True)     # clears it (an empty message: refused too)
    bridge.wait_counter("write_refused", lambda n: n == 2)
    bridge.wait_values("sensors/sim/user1", lambda v: v == [0.0])
    bridge.wait_values("sensors/tic101/sp", lambda v: v == [50.0])

    write("sim", "user1", "12.5")
    bridge.wait_values("sensors/sim/user1", lambda v: v[-1:] == [12.5])
    write("sim", "user1", "1000")                      # clamped to max
    bridge.wait_values("sensors/sim/user1", lambda v: v[-1:] == [50.0])
    write("tic101", "sp", "5")                          # a loop member, clamped to min
    bridge.wait_values("sensors/tic101/sp", lambda v: v[-1:] == [20.0])
    bridge.wait_counter("writes", lambda n: n == 3)
    assert "clamped to 50" in bridge.log() and "clamped to 20" in bridge.log()

    refused = [("sim", "ramp1", "3", "not declared writable"),
               ("tic101", "pv", "3", "not declared writable"),
               ("nowhere", "x", "3", "not declared writable"),
               ("sim", "user1", "abc", "is not a number"),
               ("sim", "user1", "nan", "is not a number"),
               ("sim", "user1", "", "is not a number"),
               ("sim", "user1", "1e999", "is not a number"),
               ("sim", "user1", "7", "a retained message")]
    for device, measurement, payload, _ in refused[:-1]:
        write(device, measurement, payload)
    bridge.wait_counter("write_refused", lambda n: n == len(refused) + 1)
    for _, _, _, reason in refused:
        assert reason in bridge.service.log_tail(200), reason
    assert bridge.values("sensors/sim/user1")[-1] == 50.0
    bridge.wait_counter("writes", lambda n: n == 3)
    assert bridge.service.running


@pytest.mark.parametrize("entry, expected", [
    ("{node: 'i=1', device: d, measurement: m, writable: true}", "needs min and max"),
    ("{node: 'i=1', device: d, measurement: m, writable: true, min: 5, max: 5}",
     "min=5 must be below max=5"),
    ("{node: 'i=1', device: d, measurement: m, min: 0, max: 5}", "add writable: true"),
    ("{node: 'i=1', device: d, measurement: m, writable: 'yes', min: 0, max: 5}",
     "writable='yes' must be true or false"),
])
def test_bad_write_declarations_are_named(entry, expected):
    import yaml

    problems = []
    nodes_file.parse_nodes_file(yaml.safe_load(f"nodes:\n  - {entry}\n"), problems)
    assert any(expected in p for p in problems), problems


def test_a_loop_member_can_be_writable():
    import yaml

    problems = []
    parsed = nodes_file.parse_nodes_file(yaml.safe_load(
        "loops:\n  - {id: l, pv: 'i=1', sp: {node: 'i=2', writable: true, min: 0, max: 9}, "
        "writable: true}\n"), problems)
    sp = next(n for n in parsed.nodes if n.measurement == "sp")
    assert (sp.writable, sp.min, sp.max) == (True, 0.0, 9.0)
    assert any("belong to a member" in p for p in problems)


def test_the_feed_flow_follows_its_written_setpoint(opcua_server, probe, bridge_factory):
    """FIC102 (the plant demo's write target): SP writable, PV following it."""
    bridge = bridge_factory(opcua_server, f"""
publishing_interval_ms: 100
sampling_interval_ms: 50
nodes:
  - {{node: "{PLANT}FIC102.SP", device: fic102, measurement: sp, writable: true, min: 0, max: 20}}
  - {{node: "{PLANT}FIC102.PV", device: fic102, measurement: pv}}
""")
    bridge.wait_values("sensors/fic102/sp", lambda v: v == [12.0])
    probe.publish("opcua/opcua-bridge/write/fic102/sp", "4")
    bridge.wait_values("sensors/fic102/sp", lambda v: v[-1:] == [4.0])
    bridge.wait_values("sensors/fic102/pv", lambda v: bool(v) and abs(v[-1] - 4.0) < 0.1)
