"""`make demo-plant` end to end: the OPC UA test server's PID loop through the bridge, the
listener, the stand-in's loop deviation rule and the webhook to an indicator simulator."""

import pytest

from tests.support.demos import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_setpoint_step_turns_the_deviation_alarm_red_then_green():
    stdout, leds = run_demo("devstack.plant_demo")
    reds = [i for i, led in enumerate(leds) if led.startswith("red")]
    assert reds and any(led.startswith("green") for led in leds[reds[0]:]), stdout
