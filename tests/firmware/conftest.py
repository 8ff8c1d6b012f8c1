"""Fixtures for the firmware simulators: build them once per session (`make firmware`), then run
them as `devstack.servers.Service` processes against the harness broker."""

import subprocess
import uuid
from pathlib import Path

import pytest

from devstack.loop import led_states
from devstack.servers import Service
from devstack.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "firmware"


@pytest.fixture(scope="session")
def firmware_build():
    """The build folder with fresh sensor-sim and indicator-sim (an incremental build is quick)."""
    result = subprocess.run(["make", "-C", str(REPO), "firmware"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"`make firmware` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    for name in ("sensor-sim", "indicator-sim"):
        if not (BUILD / name).exists():
            pytest.fail(f"`make firmware` did not produce {BUILD / name}")
    return BUILD


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class Sim:
    """A running simulator: its Service, its device id, and what it printed."""

    def __init__(self, service, device_id):
        self.service = service
        self.device_id = device_id

    def output_lines(self):
        try:
            return self.service.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def leds(self):
        return led_states(self.service.log_path)

    def wait_for_led(self, state, count=None, timeout=10):
        """Wait until the last LED state is `state` (and there are `count` of them, if given)."""
        def shown():
            states = self.leds()
            return states and states[-1] == state and (count is None or len(states) == count)
        wait_until(shown, timeout, message=f"indicator never showed {state}: {self.leds()}")

    def send(self, *lines):
        self.service.process.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.service.process.stdin.flush()


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
