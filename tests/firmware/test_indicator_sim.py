"""indicator-sim against a real broker: the LED follows the retained alert state, and anything
doubtful (no state, bad payload, webhook offline, broker gone) shows the unknown pattern."""

import subprocess
import time
import uuid

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.servers import port_open
from devstack.wait import wait_until


def alert_topic():
    return f"alerts/pot-high-{uuid.uuid4().hex[:6]}"


def test_led_follows_alert_state_bad_payload_and_broker_outage(mosquitto, start_sim):
    topic = alert_topic()
    sim = start_sim("indicator-sim", "--topic", topic)
    sim.wait_for_led("unknown", count=1)
    status = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"online", 10)

    with Probe(mosquitto.host, mosquitto.port) as probe:
        for payload, state, count in [("1", "red", 2), ("0", "green", 3),
                                      ("on fire", "unknown", 4), ("1", "red", 5)]:
            probe.publish(topic, payload, retain=True)
            sim.wait_for_led(state, count)

    mosquitto.stop()
    sim.wait_for_led("unknown", count=6)
    assert any("broker unreachable" in line for line in sim.output_lines())
    wait_until(lambda: not port_open(mosquitto.port), 10)
    mosquitto.start()
    # Back to the retained state, which it subscribes to again on the new connection.
    sim.wait_for_led("red", count=7, timeout=15)
    assert sim.leds() == ["unknown", "red", "green", "unknown", "red", "unknown", "red"]


@pytest.mark.parametrize(
    ("webhook_topic", "args"),
    [
        ("status/webhook", []),
        ("status/alert-hook", ["--webhook-status-topic", "status/alert-hook"]),
    ],
    ids=["default-webhook-status-topic", "configured-webhook-status-topic"],
)
def test_webhook_offline_shows_unknown_until_it_is_back(mosquitto, start_sim, heartbeat,
                                                        webhook_topic, args):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(topic, "0", retain=True)
        beat = heartbeat(mosquitto, webhook_topic)
        sim = start_sim("indicator-sim", "--topic", topic, *args, webhook=False)
        sim.wait_for_led("green")
        beat.stop()
        probe.publish(webhook_topic, "offline", retain=True)
        sim.wait_for_led("unknown")
        assert any("webhook offline" in line for line in sim.output_lines())
        heartbeat(mosquitto, webhook_topic)
        sim.wait_for_led("green")


def test_no_state_yet_is_unknown_and_a_later_state_is_shown(mosquitto, start_sim):
    topic = alert_topic()
    sim = start_sim("indicator-sim", "--topic", topic)
    status = f"status/{sim.device_id}"
    # The indicator says online only after subscribing, so a live message now reaches it.
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"online", 10)
    wait_until(lambda: any("no alert state yet" in line for line in sim.output_lines()), 10)
    assert sim.leds() == ["unknown"]
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(topic, "1", retain=False)
        sim.wait_for_led("red")


def test_indicator_has_its_own_status_with_last_will(mosquitto, start_sim):
    sim = start_sim("indicator-sim", "--topic", alert_topic())
    status = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"online", 10)
    sim.service.kill()
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"offline", 10)


def test_indicator_starts_while_the_broker_is_down_and_connects_later(mosquitto, start_sim):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(topic, "1", retain=True)
    mosquitto.stop()
    sim = start_sim("indicator-sim", "--topic", topic)
    sim.wait_for_led("unknown")
    mosquitto.start()
    sim.wait_for_led("red", timeout=15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "h", "--port", "1", "--device-id", "d"], "missing: --topic"),
        (["--host", "h", "--port", "1", "--device-id", "d", "--topic", "alerts/#"],
         "must not contain wildcards"),
    ],
    ids=["no-topic", "wildcard-topic"],
)
def test_bad_command_lines_exit_2(firmware_build, args, message):
    result = subprocess.run([str(firmware_build / "indicator-sim"), *args], capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_broker_that_vanishes_without_closing_is_noticed_within_the_keepalive(mosquitto,
                                                                                start_sim):
    """SIGSTOP: the connection stays open but nothing answers, as when the broker's host loses
    power. With a 5 s keepalive the indicator gives up after one silent period plus an unanswered
    PINGREQ: about 10 s (the board's PubSubClient works the same way)."""
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(topic, "1", retain=True)
    sim = start_sim("indicator-sim", "--topic", topic)
    sim.wait_for_led("red")
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port,
                                     f"status/{sim.device_id}") == b"online", 10)
    frozen_at = time.monotonic()
    mosquitto.freeze()
    try:
        sim.wait_for_led("unknown", timeout=30)
        window = time.monotonic() - frozen_at
    finally:
        mosquitto.thaw()
    print(f"\nindicator-sim noticed the frozen broker after {window:.1f} s (keepalive 5 s)")
    assert any("broker unreachable" in line for line in sim.output_lines())
    sim.wait_for_led("red", timeout=30)


def test_the_broker_name_is_looked_up_once_and_again_only_after_repeated_failures(mosquitto,
                                                                                   start_sim):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(topic, "0", retain=True)
    sim = start_sim("indicator-sim", "--topic", topic, "--host", "localhost")
    sim.wait_for_led("green")

    def lookups():
        return [i for i, line in enumerate(sim.output_lines()) if "mqtt: localhost is " in line]

    assert len(lookups()) == 1
    mosquitto.stop()
    # Three failed attempts on the address it has, then a new lookup.
    wait_until(lambda: len(lookups()) == 2, 30, message=f"no second lookup: {sim.output_lines()}")
    lines = sim.output_lines()
    failed = [line for line in lines[lookups()[0]:lookups()[1]] if "cannot connect" in line]
    assert len(failed) == 3, lines
    mosquitto.start()
    sim.wait_for_led("green", timeout=30)
    assert sim.leds() == ["unknown", "green", "unknown", "green"]
