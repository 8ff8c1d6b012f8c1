"""The closed loop end to end, with faults injected into the real parts.

Sensor readings are QoS 0 (PubSubClient cannot publish QoS 1), so "nothing lost" is checked for
what reached the broker: every reading a subscriber saw on sensors/# ends up in InfluxDB.
"""

import json

import pytest

from devstack.loop import Loop
from devstack.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
HIGH, LOW = 4095, 0


@pytest.fixture
def loop():
    with Loop(evaluation_interval=1.0, window=3.0) as running:
        yield running


def readings_seen(loop):
    """seq -> value of every reading the broker passed on from the sensor."""
    seen = {}
    for payload in loop.probe.payloads(f"sensors/{loop.device}/pot"):
        reading = json.loads(payload)
        seen[reading["seq"]] = reading["value"]
    return seen


def assert_all_seen_readings_stored(loop, timeout=30):
    """Every reading the broker passed on is stored, exactly once (its seq appears once)."""
    seen = readings_seen(loop)
    assert seen, "the sensor published nothing"
    def stored_seqs():
        return {seq for seq, _ in loop.stored_readings()}

    wait_until(lambda: set(seen) <= stored_seqs(), timeout,
               message=f"missing seqs: {sorted(set(seen) - stored_seqs())}")
    stored = [seq for seq, _ in loop.stored_readings()]
    assert len(stored) == len(set(stored))


def go(loop, raw, colour):
    loop.set_pot(raw)
    loop.wait_for_led(colour)


def test_the_loop_goes_green_red_green(loop):
    go(loop, LOW, "green")
    go(loop, HIGH, "red")
    go(loop, LOW, "green")
    # The indicator and the probe are separate subscribers, and the per-device state may be
    # published after the one the indicator follows: wait for both instead of racing them.
    for topic in ("alerts/pot-high", f"alerts/pot-high/{loop.device}"):
        wait_until(lambda t=topic: loop.probe.last(t) == b"0", 10,
                   message=f"{topic} never went back to 0: {loop.probe.payloads(topic)}")


def test_broker_restart_mid_alert_shows_unknown_then_the_right_colour(loop):
    go(loop, HIGH, "red")
    shown = len(loop.leds())
    loop.broker.restart()
    wait_until(lambda: "unknown" in loop.leds()[shown:], 30,
               message=f"indicator never showed unknown: {loop.leds()}")
    loop.wait_for_led("red")
    go(loop, LOW, "green")


def test_influxdb_outage_loses_nothing_and_the_led_converges(loop):
    go(loop, LOW, "green")
    loop.influx.stop()
    loop.set_pot(HIGH)
    wait_until(lambda: len(readings_seen(loop)) >= 10, 30)
    loop.influx.start()
    loop.wait_for_led("red")
    assert_all_seen_readings_stored(loop)
    go(loop, LOW, "green")


def test_listener_kill_9_loses_nothing(loop):
    go(loop, LOW, "green")
    # The LED is green before any reading arrives, and a QoS 0 reading already handed to the
    # listener when it is killed is lost by design: kill it once what it was sent is stored.
    wait_until(lambda: readings_seen(loop), 10)
    assert_all_seen_readings_stored(loop)
    loop.listener.kill()
    loop.set_pot(HIGH)
    wait_until(lambda: len(readings_seen(loop)) >= 10, 30)
    loop.listener.start()
    loop.wait_for_led("red")
    assert_all_seen_readings_stored(loop)


def test_webhook_restart_between_firing_and_resolved(loop):
    go(loop, HIGH, "red")
    loop.webhook.restart()
    go(loop, LOW, "green")
    wait_until(lambda: loop.probe.last("status/webhook") == b"online", 10)


def test_killed_sensor_leaves_offline(loop):
    go(loop, LOW, "green")
    loop.sensor.kill()
    loop.probe.wait_for(f"status/{loop.device}", "offline", timeout=30)
