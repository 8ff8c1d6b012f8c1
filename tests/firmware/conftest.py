"""Fixtures for the firmware simulators: build them once per session (`make firmware`), then run
them as `devstack.servers.Service` processes against the harness broker."""

import subprocess

import pytest

from devstack.heartbeat import Heartbeat
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
