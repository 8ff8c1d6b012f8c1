"""Fixtures for the firmware simulators: build them once per session (`make firmware`), then run
them as `devstack.servers.Service` processes against the harness broker."""

import subprocess
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from devstack.loop import FIRMWARE_BUILD
from devstack.paths import ROOT
from devstack.servers import Service
from tests.support.firmware import Sim, unique


@pytest.fixture(scope="session")
def firmware_build():
    """The build folder with fresh simulators (an incremental build is quick)."""
    result = subprocess.run(["make", "-C", str(ROOT), "firmware"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"`make firmware` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    for name in ("sensor-sim", "indicator-sim", "actuator-sim"):
        if not (FIRMWARE_BUILD / name).exists():
            pytest.fail(f"`make firmware` did not produce {FIRMWARE_BUILD / name}")
    return FIRMWARE_BUILD


class Heartbeat:
    """The webhook's liveness as the boards follow it (CONTRACTS.md): `online` retained at QoS 1
    on its status topic, again every `period_s` (the webhook's is 5 s; 1 s here keeps tests
    short). stop() ends it without `offline`, as a process that froze or lost its power."""

    def __init__(self, broker, topic="status/webhook", period_s=1.0):
        self.topic, self.period_s = topic, period_s
        self.stopped = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"heartbeat-{uuid.uuid4().hex[:6]}")
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.connect_async(broker.host, broker.port, keepalive=60)  # the broker may be down
        self.client.loop_start()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            if not self.client.is_connected():
                self.stopped.wait(0.05)
                continue
            self.client.publish(self.topic, "online", qos=1, retain=True)
            self.stopped.wait(self.period_s)

    def stop(self):
        if not self.stopped.is_set():
            self.stopped.set()
            self.thread.join(10)
            self.client.disconnect()
            self.client.loop_stop()


@pytest.fixture
def heartbeat():
    """heartbeat(broker, topic="status/webhook"): a Heartbeat, stopped at the end of the test."""
    started = []

    def start(broker, topic="status/webhook", period_s=1.0):
        started.append(Heartbeat(broker, topic, period_s))
        return started[-1]

    yield start
    for beat in started:
        beat.stop()


@pytest.fixture
def start_sim(firmware_build, mosquitto_factory, heartbeat, request):
    """start_sim("sensor-sim" or "indicator-sim", *extra_args, device_id=None, broker=None,
    webhook=True).

    The broker defaults to the test's `mosquitto` fixture. Standard input is a pipe: `send()`
    feeds ADC readings to sensor-sim and `press` lines to indicator-sim. An indicator-sim gets
    the webhook's heartbeat on `status/webhook` unless `webhook=False` (the test plays the
    webhook's status itself)."""
    started = []
    beating = set()

    def start(program, *args, device_id=None, broker=None, webhook=True):
        broker = broker or request.getfixturevalue("mosquitto")
        if program == "indicator-sim" and webhook and id(broker) not in beating:
            beating.add(id(broker))
            heartbeat(broker)
        device_id = device_id or unique(program.split("-")[0])
        command = [str(firmware_build / program), "--host", broker.host,
                   "--port", str(broker.port), "--device-id", device_id, *args]
        service = Service(program, command, stdin=subprocess.PIPE)
        started.append(service)
        service.start()
        return Sim(service, device_id)

    yield start
    for service in started:
        service.close()
