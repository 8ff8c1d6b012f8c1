"""indicator-sim and the annunciator against a real broker: it follows `T/annunciator` (which
wins over `T`), falls back to `T` without it, and a `press` on stdin acknowledges what flashes by
publishing the device id on `T/ack/<its device id>` at QoS 1."""

import threading
import uuid

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.wait import wait_until


def alert_topic():
    return f"alerts/pot-high-{uuid.uuid4().hex[:6]}"


def wait_online(mosquitto, sim):
    status = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"online", 10)


class Acks:
    """What arrives on an ack topic, with the QoS it was delivered at (the probe subscribes at
    QoS 1, so a delivery at 1 means the simulator published at 1)."""

    def __init__(self, probe):
        self.lock = threading.Lock()
        self.items = []
        probe.client.on_message = self.record

    def record(self, client, userdata, message):
        with self.lock:
            self.items.append((message.topic, message.payload, message.qos, message.retain))

    def all(self):
        with self.lock:
            return list(self.items)


@pytest.mark.parametrize(
    ("retained", "first_shown"),
    [
        ({"": "1", "/annunciator": "unacked"}, "red-flashing"),
        ({"": "1", "/annunciator": "acked"}, "red"),
        ({"": "0", "/annunciator": "cleared-unacked"}, "green-flashing"),
        ({"": "0", "/annunciator": "normal"}, "green"),
        ({"": "1"}, "red"),
        ({"/annunciator": "unacked"}, "red-flashing"),
        ({"": "1", "/annunciator": "shelved"}, "shelved"),
        ({"": "1", "/annunciator": "out-of-service"}, "out-of-service"),
    ],
    ids=["unacked", "acked", "cleared-unacked", "normal", "fallback-without-annunciator",
         "annunciator-without-1-0", "shelved", "out-of-service"],
)
def test_retained_states_show_at_once_without_a_fallback_flicker(mosquitto, start_sim, retained,
                                                                 first_shown):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port) as probe:
        for suffix, payload in retained.items():
            probe.publish(topic + suffix, payload, retain=True)
    sim = start_sim("indicator-sim", "--topic", topic)
    sim.wait_for_led(first_shown)
    wait_online(mosquitto, sim)
    assert sim.leds() == ["unknown", first_shown]


def test_led_follows_the_annunciator_through_both_sequences(mosquitto, start_sim):
    topic = alert_topic()
    sim = start_sim("indicator-sim", "--topic", topic)
    wait_online(mosquitto, sim)
    steps = [
        ("", "0", "green"),
        ("/annunciator", "normal", "green"),
        ("/annunciator", "unacked", "red-flashing"),
        ("", "1", "red-flashing"),
        ("/annunciator", "acked", "red"),
        ("/annunciator", "normal", "green"),
        ("/annunciator", "unacked", "red-flashing"),
        ("/annunciator", "cleared-unacked", "green-flashing"),
        ("/annunciator", "sideways", "unknown"),
        ("/annunciator", "", "red"),  # retained state deleted: back to 1/0, which says 1
        ("", "0", "green"),
    ]
    with Probe(mosquitto.host, mosquitto.port) as probe:
        for suffix, payload, shown in steps:
            probe.publish(topic + suffix, payload, retain=True)
            sim.wait_for_led(shown)
    assert sim.leds() == ["unknown", "green", "red-flashing", "red", "green", "red-flashing",
                          "green-flashing", "unknown", "red", "green"]
    assert any("unrecognised annunciator payload" in line for line in sim.output_lines())


@pytest.mark.parametrize("state", ["unacked", "cleared-unacked"])
def test_press_acknowledges_what_flashes_with_the_device_id_at_qos_1(mosquitto, start_sim, state):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port, [f"{topic}/ack/+"]) as probe:
        acks = Acks(probe)
        probe.publish(f"{topic}/annunciator", state, retain=True)
        sim = start_sim("indicator-sim", "--topic", topic)
        sim.wait_for_led({"unacked": "red-flashing", "cleared-unacked": "green-flashing"}[state])
        sim.send("press")
        wait_until(lambda: acks.all(), 10, message="no acknowledgement arrived")
        assert acks.all() == [(f"{topic}/ack/{sim.device_id}", sim.device_id.encode(), 1, False)]


def test_press_on_a_steady_or_unknown_led_sends_nothing_and_says_why(mosquitto, start_sim):
    topic = alert_topic()
    with Probe(mosquitto.host, mosquitto.port, [f"{topic}/ack/+"]) as probe:
        acks = Acks(probe)
        sim = start_sim("indicator-sim", "--topic", topic)
        wait_online(mosquitto, sim)
        sim.send("press", "push", "")  # unknown (no state yet); a bad line; a blank one
        probe.publish(f"{topic}/annunciator", "acked", retain=True)
        sim.wait_for_led("red")
        sim.send("press")
        wait_until(lambda: sum("nothing to acknowledge" in line
                               for line in sim.output_lines()) == 2, 10,
                   message=f"presses not reported: {sim.output_lines()}")
        assert any("stdin line 2 ignored ('push'): expected press" in line
                   for line in sim.output_lines())
        # The acknowledgement an unacked state would have sent arrives after any earlier one.
        probe.publish(f"{topic}/annunciator", "unacked", retain=True)
        sim.wait_for_led("red-flashing")
        sim.send("press")
        wait_until(lambda: acks.all(), 10, message="no acknowledgement arrived")
        assert [payload for _, payload, _, _ in acks.all()] == [sim.device_id.encode()]


def test_several_alerts_show_the_highest_active_in_its_colour_and_press_acknowledges_it(
        mosquitto, start_sim):
    pot, temp = alert_topic(), alert_topic()
    with Probe(mosquitto.host, mosquitto.port, [f"{pot}/ack/+", f"{temp}/ack/+"]) as probe:
        acks = Acks(probe)
        probe.publish(f"{pot}/annunciator", "acked", retain=True)
        probe.publish(f"{temp}/annunciator", "normal", retain=True)
        sim = start_sim("indicator-sim", "--follow", f"{pot}:red:1", "--follow",
                        f"{temp}:yellow:2")
        sim.wait_for_led("red")
        probe.publish(f"{temp}/annunciator", "unacked", retain=True)
        sim.wait_for_led("yellow-flashing")
        sim.send("press")
        wait_until(lambda: acks.all(), 10, message="no acknowledgement arrived")
        assert acks.all() == [(f"{temp}/ack/{sim.device_id}", sim.device_id.encode(), 1, False)]
        probe.publish(f"{temp}/annunciator", "normal", retain=True)
        sim.wait_for_led("red")
