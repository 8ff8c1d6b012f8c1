"""A power cut under the alarms: mosquitto (with the deployed persistence settings) and the real
`python -m webhook` killed with SIGKILL at the same instant, 1 s after an alarm fired, was
acknowledged or cleared, then restarted from the same data folders. The broker's last snapshot
is older than the change (taken just before it, as its autosave would be), so only the webhook's
state file knows the truth.

Asserted: no false colour, no undone acknowledgement, and an indicator that follows the
webhook's status with `Liveness` counts it gone (the broker's reloaded `online` is retained, not
live) until the restarted webhook says a live `online`, when the retained topics hold the truth.
The times are printed (`-s`).
"""

import os
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from devstack.mqtt_probe import read_retained
from devstack.paths import ROOT
from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from service_common.status import Liveness
from tests.support.annunciator import ACK_AUTH
from tests.support.deployed_broker import deployed_options
from tests.support.webhook import grouped, http, instance, webhook_env

ALERT, DEVICE = "alerts/pot-high", "alerts/pot-high/esp32-a"
STATUS = "status/webhook"
def cut_power(*servers):
    """SIGKILL to every process at once (all signals sent before any is waited for)."""
    for server in servers:
        os.killpg(server.process.pid, signal.SIGKILL)
    for server in servers:
        server.process.wait(10)


def snapshot(broker):
    """Make the broker save its persistence file now (SIGUSR1), as its autosave would."""
    database = broker.workdir / "data" / "mosquitto.db"
    before = database.stat().st_mtime_ns if database.exists() else 0
    os.kill(broker.process.pid, signal.SIGUSR1)
    wait_until(lambda: database.exists() and database.stat().st_mtime_ns != before, 10,
               message="mosquitto did not save its persistence file")


class Follower:
    """An indicator's view of the webhook's status, as service_common.status says to follow it."""

    def __init__(self, broker):
        self.liveness = Liveness()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="follower")
        self.client.on_connect = lambda c, *a: c.subscribe(STATUS, 1)
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *a: self.liveness.reset()
        self.client.reconnect_delay_set(0.05, 0.5)
        self.retained_online = threading.Event()
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        if message.retain and message.payload == b"online":
            self.retained_online.set()
        self.liveness.seen(message.payload, bool(message.retain))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def stack(mosquitto_factory, tmp_path):
    broker = mosquitto_factory(config=deployed_options())
    port = free_port()
    env = webhook_env(broker, WEBHOOK_PORT=port, PYTHONPATH=ROOT, WEBHOOK_ANNUNCIATOR="isa",
                      WEBHOOK_KNOWN_ALERTS="Pot high", ACK_USERNAME=ACK_AUTH[0],
                      ACK_PASSWORD=ACK_AUTH[1], WEBHOOK_STATE_DIR=tmp_path / "webhook-state")
    webhook = Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                      ready=lambda: port_open(port), port=port)
    webhook.url = f"http://127.0.0.1:{port}"
    webhook.start()
    yield broker, webhook
    webhook.close()


def live_online(broker):
    """Wait for the webhook's `online` (it is said once its state is republished)."""
    wait_until(lambda: read_retained(broker.host, broker.port, STATUS) == b"online", 30,
               message="the webhook never said online")


def notify(webhook, status):
    code, body = http(webhook.url, "/alert",
                      grouped("Pot high", instance("Pot high", status, "f1", device="esp32-a")))
    assert code == 200, body


def acknowledge(webhook):
    code, body = http(webhook.url, "/ack/pot-high/esp32-a", auth=ACK_AUTH, method="POST")
    assert code == 200, body


def fire(webhook):
    notify(webhook, "firing")


def clear(webhook):
    notify(webhook, "resolved")


def fire_and_acknowledge(webhook):
    fire(webhook)
    acknowledge(webhook)


# (the state before the broker's last snapshot, the change 1 s before the cut, what must come
# back: the alert topic and the device's annunciator state)
MOMENTS = {
    "fired": ([], fire, b"1", b"unacked"),
    "acknowledged": ([fire], acknowledge, b"1", b"acked"),
    "cleared-unacknowledged": ([fire], clear, b"0", b"cleared-unacked"),
    "cleared-acknowledged": ([fire_and_acknowledge], clear, b"0", b"normal"),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_power_cut_one_second_after_the_change_keeps_it(stack, moment, capsys):
    broker, webhook = stack
    before, change, alert, annunciated = MOMENTS[moment]
    live_online(broker)
    for step in before:
        step(webhook)
    snapshot(broker)
    change(webhook)
    time.sleep(1.0)  # the moment under test: the cut comes 1 s after the answer
    cut_power(broker, webhook)

    broker.start()
    follower = Follower(broker)
    try:
        wait_until(follower.retained_online.is_set, 10,
                   message="the broker did not reload the webhook's online from its snapshot")
        assert not follower.liveness.live()  # a reloaded `online` is no sign of life
        started = time.monotonic()
        webhook.start()
        wait_until(follower.liveness.live, 30, message="no live online from the webhook")
        back = time.monotonic() - started
        values = {topic: read_retained(broker.host, broker.port, topic)
                  for topic in (ALERT, DEVICE, f"{DEVICE}/annunciator")}
    finally:
        follower.close()
    assert values == {ALERT: alert, DEVICE: alert, f"{DEVICE}/annunciator": annunciated}
    with capsys.disabled():
        print(f"\n{moment}: gone at once (only the reloaded online), live and true "
              f"{back:.2f} s after the webhook's start")
