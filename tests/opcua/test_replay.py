"""After the broker loses its state (kill -9, its data gone), the bridge publishes its recent
readings again: a persistent subscriber that was away (the listener) gets every reading."""

import json
import shutil

from devstack.mqtt_probe import Probe
from devstack.wait import wait_until
from opcua_bridge.replay import ReplayBuffer, lost_state, parse_marker, replay_from
from tests.opcua.test_bridge import OUTAGE, _gaps


def test_the_marker_decides_what_to_replay():
    assert replay_from(None, None) is None          # the bridge's first connection
    assert replay_from(None, 5) is None
    # The broker may have saved its snapshot after our last marker, and lost what came after
    # the snapshot: replay from the marker it gives back, even when it is our newest one.
    assert replay_from(1000, 1000) == 1000 and not lost_state(1000, 1000)
    assert replay_from(1000, 400) == 400 and lost_state(1000, 400)      # went back
    assert replay_from(1000, None) == 0 and lost_state(1000, None)      # gone: all of it
    buffer = ReplayBuffer(3)
    for at in (100, 200, 300, 400):
        buffer.add(at, f"t{at}", b"x")
    assert buffer.since(250) == [("t300", b"x"), ("t400", b"x")]
    assert [topic for topic, _ in buffer.since(0)] == ["t200", "t300", "t400"]   # bounded
    assert parse_marker(b"123") == 123 and parse_marker(b"junk") is None


def test_readings_lost_with_the_brokers_state_are_replayed(opcua_server, mosquitto, probe,
                                                          bridge_factory):
    """`probe` (a persistent session) plays the listener; `observer` watches meanwhile."""
    bridge = bridge_factory(opcua_server, OUTAGE, OPCUA_REPLAY_DELAY="2")
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 5)
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as observer:
        def observed(name):
            return [json.loads(p)["value"] for p in observer.payloads(name)]

        wait_until(lambda: observed("sensors/opcua-bridge/readings"), 20)
        # The listener goes away: the broker acknowledges and queues readings for it.
        probe.client.disconnect()
        wait_until(lambda: not probe.client.is_connected(), 10)
        probe.client.loop_stop()
        wait_until(lambda: len(observed("sensors/sim/ramp1")) >= 30, 30)
        mosquitto.kill()                                    # a power cut of the broker
        shutil.rmtree(mosquitto.workdir / "data")           # and its saved state lost
        mosquitto.start()
        probe.client.reconnect()
        probe.client.loop_start()
        wait_until(probe.client.is_connected, 20)
        wait_until(lambda: observed("sensors/opcua-bridge/replayed")[-1:] >= [30], 40,
                   message=bridge.log())
    stored = len(bridge.values("sensors/sim/ramp1"))
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) > stored + 10)
    readings = sorted({(r["ts"], r["value"]) for r in bridge.readings("sensors/sim/ramp1")})
    assert _gaps([value for _, value in readings]) == [], bridge.log()
    assert "the broker lost its state" in bridge.log()
