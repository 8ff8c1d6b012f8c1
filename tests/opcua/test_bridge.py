"""The real bridge against the OPC UA test server and a real broker: values and types, bad
quality, deadband, unknown nodes, counters, restarts, a broker outage, security, browse."""

import shutil
import subprocess
import sys
import time

import yaml

from devstack.paths import ROOT
from devstack.wait import wait_until
from service_common.opcua import nodes_file
from tests.support.opcua import PLANT_URI, SIM, SIM_URI

VALUES = f"""
publishing_interval_ms: 100
sampling_interval_ms: 50
nodes:
  - {{node: "{SIM}Ramp1", device: sim, measurement: ramp1}}
  - {{node: "{SIM}Random1", device: sim, measurement: random1}}
  - {{node: "{SIM}Toggle1", device: sim, measurement: toggle1}}
  - {{node: "{SIM}String1", device: sim, measurement: string1}}
  - {{node: "{SIM}Quality1", device: sim, measurement: quality1}}
  - {{node: "{SIM}User1", device: sim, measurement: user1, deadband: 0.5}}
  - {{node: "{SIM}NoSuchTag", device: sim, measurement: missing}}
  - {{node: "nsu=urn:nowhere;s=Tag", device: sim, measurement: nowhere}}
"""


def test_values_types_quality_deadband_and_unknown_nodes(opcua_server, bridge_factory):
    bridge = bridge_factory(opcua_server, VALUES)
    ramp = bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 5)
    assert all(isinstance(v, float) for v in ramp)
    reading = bridge.readings("sensors/sim/ramp1")[-1]
    assert abs(reading["ts"] / 1000 - time.time()) < 30   # the server's source timestamp
    bridge.wait_values("sensors/sim/random1", lambda v: len(v) >= 3)
    bridge.wait_values("sensors/sim/toggle1", lambda v: {0.0, 1.0} <= set(v))
    assert bridge.values("sensors/sim/string1") == []
    bridge.wait_counter("non_numeric", lambda n: n >= 2)
    # Two unknown nodes are reported by name; the others carry on.
    bridge.wait_counter("unknown_nodes", lambda n: n == 2)
    log = bridge.service.log_tail(200)
    assert "sim/missing (ns=2;s=Simulation Examples.Functions.NoSuchTag): not subscribed: " \
           "BadNodeIdUnknown" in log
    assert "sim/nowhere (nsu=urn:nowhere;s=Tag): not subscribed" in log
    assert log.count("is not a number") == 1   # logged once

    # Bad quality: counted, not forwarded; forwarded again once Good.
    bridge.wait_values("sensors/sim/quality1", lambda v: len(v) >= 1)
    opcua_server.send("bad")
    bridge.wait_counter("bad_quality", lambda n: n >= 1)
    during = len(bridge.values("sensors/sim/quality1"))
    bad = bridge.counter("bad_quality")
    opcua_server.send("good")
    bridge.wait_values("sensors/sim/quality1", lambda v: len(v) > during)
    assert bad >= 1 and "Quality1): status BadSensorFailure" in bridge.service.log_tail(200)

    # Absolute deadband 0.5 on User1 (0.0 at start): only changes beyond 0.5 are sent. (The
    # steps avoid where servers differ: the last sent value or the last sampled one.)
    for value in (0.3, 1.0, 1.2, 1.4, 3.0):
        opcua_server.send(f"set User1 {value}")
    bridge.wait_values("sensors/sim/user1", lambda v: v[-1:] == [3.0])
    assert bridge.values("sensors/sim/user1") == [0.0, 1.0, 3.0]
    bridge.wait_counter("readings", lambda n: n > 10)
    assert bridge.counter("session_state") == 1 and bridge.counter("dropped") == 0
    assert bridge.healthcheck() == 0


REPUBLISH = f"""
publishing_interval_ms: 100
sampling_interval_ms: 50
republish_interval_ms: 300
nodes:
  - {{node: "{SIM}User1", device: sim, measurement: user1}}
  - {{node: "{SIM}User1", device: sim, measurement: user1_changes, republish_interval_ms: 0}}
  - {{node: "{SIM}Quality1", device: sim, measurement: quality1}}
"""


def test_a_node_that_does_not_change_is_published_again_stamped_now(opcua_server,
                                                                    bridge_factory):
    """A server sends only changes: User1 changes only when written, so without
    republish_interval_ms it is sent once and then vanishes from the alert rules' windows."""
    bridge = bridge_factory(opcua_server, REPUBLISH)
    bridge.wait_values("sensors/sim/user1", lambda v: len(v) >= 4)
    first = bridge.readings("sensors/sim/user1")
    assert {r["value"] for r in first} == {0.0}
    stamps = [r["ts"] for r in first]
    assert stamps == sorted(set(stamps))  # each one stamped with the time it was sent again
    assert abs(stamps[-1] / 1000 - time.time()) < 30
    assert bridge.values("sensors/sim/user1_changes") == [0.0]  # republish_interval_ms: 0
    bridge.wait_counter("republished", lambda n: n >= 3)

    opcua_server.send("set User1 5")
    bridge.wait_values("sensors/sim/user1", lambda v: v[-3:] == [5.0] * 3)
    bridge.wait_values("sensors/sim/user1_changes", lambda v: v == [0.0, 5.0])

    # A node whose value went bad is not republished: its last good value is not made fresh.
    bridge.wait_values("sensors/sim/quality1", lambda v: len(v) >= 1)
    opcua_server.send("bad")
    bridge.wait_counter("bad_quality", lambda n: n >= 1)
    during = len(bridge.values("sensors/sim/quality1"))
    seen = len(bridge.values("sensors/sim/user1"))
    bridge.wait_values("sensors/sim/user1", lambda v: len(v) >= seen + 4)
    assert len(bridge.values("sensors/sim/quality1")) == during
    opcua_server.send("good")
    bridge.wait_values("sensors/sim/quality1", lambda v: len(v) > during)


RESTART = f"""
publishing_interval_ms: 100
loops:
  - {{id: tic101, pv: "{PLANT_URI}PV", sp: "{PLANT_URI}SP", out: "{PLANT_URI}OUT"}}
nodes:
  - {{node: "{SIM_URI}Ramp1", device: sim, measurement: ramp1}}
"""


def test_server_restart_that_moves_namespace_indexes(opcua_server, bridge_factory):
    bridge = bridge_factory(opcua_server, RESTART)
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 3)
    bridge.wait_values("sensors/tic101/sp", lambda v: v == [50.0])
    opcua_server.namespace_offset = 3      # sim ns=5, plant ns=6 after the restart
    opcua_server.restart()
    opcua_server.send("set SP 60")
    bridge.wait_counter("reconnects", lambda n: n >= 1, timeout=40)
    bridge.wait_values("sensors/tic101/sp", lambda v: v[-1:] == [60.0])
    before = len(bridge.values("sensors/sim/ramp1"))
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) > before + 3)
    bridge.wait_values("sensors/tic101/pv", lambda v: v[-1] > 50.5)
    assert bridge.counter("unknown_nodes") == 0
    assert bridge.service.running


OUTAGE = f"""
publishing_interval_ms: 100
sampling_interval_ms: 100
nodes:
  - {{node: "{SIM}Ramp1", device: sim, measurement: ramp1}}
"""


def _gaps(values):
    """Positions where the ramp (0..100, step 1) skipped a value."""
    return [i for i in range(1, len(values)) if values[i] != (values[i - 1] + 1) % 101]


def test_broker_outage_loses_nothing_within_the_buffer(opcua_server, mosquitto, probe,
                                                       bridge_factory):
    bridge = bridge_factory(opcua_server, OUTAGE)
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 5)
    mosquitto.stop()
    wait_until(lambda: "buffering readings" in bridge.log(), 20, interval=0.1)
    outage_started = time.monotonic()   # the outage lasts 3 s: about 30 ramp values
    wait_until(lambda: time.monotonic() - outage_started > 3, 10, interval=0.1)
    mosquitto.start()
    wait_until(probe.client.is_connected, 20)
    stored = len(bridge.values("sensors/sim/ramp1"))
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) > stored + 40, timeout=40)
    ramp = bridge.values("sensors/sim/ramp1")
    first = bridge.readings("sensors/sim/ramp1")
    assert _gaps(ramp) == [], (ramp, bridge.log())
    assert all(a["ts"] < b["ts"] for a, b in zip(first, first[1:]))
    # The counters go out every stats interval: wait for a report, however busy the machine.
    bridge.wait_counter("dropped", lambda dropped: True)
    assert bridge.counter("dropped") == 0 and bridge.service.running


def test_buffer_overflow_drops_are_counted(opcua_server, mosquitto, bridge_factory):
    bridge = bridge_factory(opcua_server, OUTAGE, OPCUA_BUFFER_SIZE="5")
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 3)
    mosquitto.stop()
    wait_until(lambda: "buffer full" in bridge.log(), 20, interval=0.1)
    mosquitto.start()
    bridge.wait_counter("dropped", lambda n: n > 0, timeout=30)
    assert bridge.service.running


def _cert(tmp_path):
    out = tmp_path / "client"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "opcua_cert.py"), "--out", str(out)],
                   check=True, capture_output=True)
    return out / "opcua-bridge.der", out / "opcua-bridge-key.pem"


def test_sign_and_encrypt_with_a_user_and_explicit_trust(opcua_factory, bridge_factory,
                                                         tmp_path):
    cert, key = _cert(tmp_path)
    approved = tmp_path / "server-trusts"     # the server's trust list: the bridge approved
    approved.mkdir()
    shutil.copy(cert, approved)
    server = opcua_factory(security="encrypt", user="operator:s3cret-pw", trust_dir=approved)
    trusted = tmp_path / "bridge-trusts"
    trusted.mkdir()
    secure = {"OPCUA_SECURITY": "Basic256Sha256,SignAndEncrypt", "OPCUA_CERT": cert,
              "OPCUA_KEY": key, "OPCUA_USERNAME": "operator", "OPCUA_PASSWORD": "s3cret-pw"}
    # Not trusted yet: the bridge names the thumbprint, keeps running and retrying.
    bridge = bridge_factory(server, OUTAGE, client_id="bridge-a", OPCUA_TRUST_DIR=trusted,
                            **secure)
    wait_until(lambda: "is not trusted" in bridge.log(), 20, message=bridge.log())
    assert bridge.service.running and bridge.values("sensors/sim/ramp1") == []
    bridge.wait_counter("session_state", lambda n: n == 0)
    assert bridge.healthcheck() == 1
    bridge.service.close()
    shutil.copy(server.certificate, trusted)
    bridge = bridge_factory(server, OUTAGE, client_id="bridge-b", OPCUA_TRUST_DIR=trusted,
                            **secure)
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 3)
    listed = _run(["browse"], server, OPCUA_TRUST_DIR=str(trusted),
                  **{k: str(v) for k, v in secure.items()})
    assert listed.returncode == 0 and f"{PLANT_URI}SP\t" in listed.stdout, listed.stderr
    # A wrong password is refused, and the bridge keeps trying.
    wrong = bridge_factory(server, OUTAGE.replace("device: sim", "device: wrong"),
                           client_id="bridge-c", OPCUA_TRUST_DIR=trusted,
                           **{**secure, "OPCUA_PASSWORD": "wrong"})
    wait_until(lambda: "BadUserAccessDenied" in wrong.log(), 20, message=wrong.log())
    assert wrong.service.running and wrong.values("sensors/wrong/ramp1") == []


def _run(args, server, **env):
    environ = {"PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": server.endpoint, **env}
    import os

    return subprocess.run([sys.executable, "-m", "opcua_bridge", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **environ})


def test_browse_prints_variables_and_a_nodes_file_skeleton(opcua_server):
    table = _run(["browse"], opcua_server)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "node id\tbrowse path\tdata type\tvalue"
    assert any(line.startswith(f"{PLANT_URI}SP\tObjects/Plant/TIC101/SP\tDouble\t50")
               for line in lines), table.stdout
    assert any(line.startswith(f"{SIM_URI}String1\t") and "\tString\tText" in line
               for line in lines), table.stdout
    skeleton = _run(["browse", "--yaml"], opcua_server)
    assert skeleton.returncode == 0, skeleton.stderr
    problems = []
    _, nodes = nodes_file.parse_nodes(yaml.safe_load(skeleton.stdout), problems)
    assert problems == []
    by_topic = {(n.device, n.measurement): n.ref.text for n in nodes}
    assert by_topic[("tic101", "pv")] == f"{PLANT_URI}PV"
    assert ("functions", "string1") not in by_topic     # commented out: not a number


def test_bad_configuration_exits_2_before_any_io(tmp_path):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("nodes:\n  - {node: 'Ramp1', device: sim, measurement: ramp1}\n")
    import os

    result = subprocess.run(
        [sys.executable, "-m", "opcua_bridge"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": "opc.tcp://nowhere:4840/",
             "OPCUA_NODES": str(nodes), "OPCUA_SECURITY": "Basic256Sha256,Sign",
             "MQTT_PORT": "0"})
    assert result.returncode == 2
    for expected in ("MQTT_PORT='0'", "nodes[0]: node: 'Ramp1'", "OPCUA_CERT is required",
                     "OPCUA_TRUST_DIR"):
        assert expected in result.stderr, result.stderr
