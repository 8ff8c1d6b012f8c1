"""`make demo-plant` end to end: the OPC UA test server's PID loop through the bridge, the
listener, the stand-in's loop deviation rule and the webhook to an indicator simulator."""

import os
import subprocess
import sys

import pytest

from devstack.loop import FIRMWARE_BUILD
from devstack.paths import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_setpoint_step_turns_the_deviation_alarm_red_then_green():
    if not (FIRMWARE_BUILD / "indicator-sim").exists():
        missing = "indicator-sim missing: run `make firmware`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(missing)
        pytest.skip(missing)
    result = subprocess.run([sys.executable, "-m", "devstack.plant_demo", "--timeout", "60"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    leds = [line.split()[1] for line in result.stdout.splitlines()
            if line.strip().startswith("LED ")]
    reds = [i for i, led in enumerate(leds) if led.startswith("red")]
    assert reds and any(led.startswith("green") for led in leds[reds[0]:]), result.stdout
