"""Fixtures for the firmware simulators: build them once per session (`make firmware`), then run
them as `devstack.servers.Service` processes against the harness broker."""

import subprocess

import pytest

from devstack.loop import FIRMWARE_BUILD
from devstack.paths import ROOT
from devstack.servers import Service
from tests.support.firmware import Sim, unique


@pytest.fixture(scope="session")
def firmware_build():
    """The build folder with fresh sensor-sim and indicator-sim (an incremental build is quick)."""
    result = subprocess.run(["make", "-C", str(ROOT), "firmware"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"`make firmware` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    for name in ("sensor-sim", "indicator-sim"):
        if not (FIRMWARE_BUILD / name).exists():
            pytest.fail(f"`make firmware` did not produce {FIRMWARE_BUILD / name}")
    return FIRMWARE_BUILD


@pytest.fixture
def start_sim(firmware_build, mosquitto_factory, request):
    """start_sim("sensor-sim" or "indicator-sim", *extra_args, device_id=None, broker=None).

    The broker defaults to the test's `mosquitto` fixture. Standard input is a pipe: `send()`
    feeds ADC readings to sensor-sim and `press` lines to indicator-sim."""
    started = []

    def start(program, *args, device_id=None, broker=None):
        broker = broker or request.getfixturevalue("mosquitto")
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
