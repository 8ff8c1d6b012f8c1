"""A board's status after a frozen broker wakes up (issue 20, D: it published 4 `offline` then
`online` within 10 ms). While the broker was frozen the board gave up its silent connection and
tried again several times; every attempt waited in the frozen broker's queue, and when it wakes
each one takes over the one before, which in MQTT 3.1.1 publishes the Will of the one taken over.
Attempts are probes without a Will now, so the status says `offline` once (the connection the
broker really lost) and then `online`."""

import threading
import uuid

import paho.mqtt.client as mqtt

from devstack.mqtt_probe import read_retained
from devstack.wait import wait_until


class Observer:
    """Records one topic with a keepalive far longer than the freeze, so it stays connected."""

    def __init__(self, broker, topic):
        self.payloads, self.lock = [], threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"observer-{uuid.uuid4().hex[:6]}")
        self.client.on_message = self.record
        self.client.connect(broker.host, broker.port, keepalive=600)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def record(self, client, userdata, message):
        with self.lock:
            self.payloads.append(message.payload)

    def seen(self):
        with self.lock:
            return list(self.payloads)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_a_thawed_broker_says_offline_once_not_once_per_attempt(mosquitto, start_sim):
    sim = start_sim("indicator-sim", "--topic", "alerts/pot-high")
    status = f"status/{sim.device_id}"
    wait_until(lambda: read_retained(mosquitto.host, mosquitto.port, status) == b"online", 10)
    observer = Observer(mosquitto, status)
    try:
        wait_until(lambda: observer.seen() == [b"online"], 10)
        mosquitto.freeze()
        try:
            sim.wait_for_led("unknown", timeout=30)  # it gave up the silent connection

            def attempts():
                return sum("next attempt" in line for line in sim.output_lines())
            before = attempts()
            wait_until(lambda: attempts() >= before + 3, 60,
                       message=f"no further attempts: {sim.output_lines()[-10:]}")
        finally:
            mosquitto.thaw()
        wait_until(lambda: len(observer.seen()) > 1 and observer.seen()[-1] == b"online", 30,
                   message=f"status never back online: {observer.seen()}")
        # The broker delivers one topic in order: a stale offline would have come before.
        assert observer.seen() == [b"online", b"offline", b"online"]
    finally:
        observer.close()
