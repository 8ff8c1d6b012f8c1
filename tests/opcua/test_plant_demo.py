"""`make demo-plant` end to end: the OPC UA test server's PID loop through the bridge, the
listener, the stand-in's loop deviation rule and the webhook to an indicator simulator, and the
actions service writing the feed setpoint FIC102.SP through the bridge on that alarm."""

import pytest

from tests.support.demos import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def after(lines, start, text):
    """The index of the first line from `start` on that contains `text`."""
    found = [i for i, line in enumerate(lines) if i >= start and text in line]
    assert found, f"no {text!r} after line {start}:\n" + "\n".join(lines)
    return found[0]


def test_setpoint_step_turns_the_deviation_alarm_red_then_green_and_moves_the_feed():
    stdout, leds = run_demo("devstack.plant_demo")
    reds = [i for i, led in enumerate(leds) if led.startswith("red")]
    assert reds and any(led.startswith("green") for led in leds[reds[0]:]), stdout
    lines = stdout.splitlines()
    # Normal feed, adopted from the server at start-up: nothing written before the step.
    step = after(lines, 0, "stage: setpoint step")
    assert not any("OPC UA write" in line for line in lines[:step]), stdout
    assert any("OPC UA read back FIC102.SP 12 m3/h: off confirmed" in line
               for line in lines[:step]), stdout
    # The alarm: the safe feed written, then read back; cleared: the normal feed, read back.
    safe = after(lines, step, "OPC UA write FIC102.SP 4 m3/h")
    safe_read = after(lines, safe, "OPC UA read back FIC102.SP 4 m3/h: on confirmed")
    normal = after(lines, safe_read, "OPC UA write FIC102.SP 12 m3/h")
    after(lines, normal, "OPC UA read back FIC102.SP 12 m3/h: off confirmed")
    assert sum("OPC UA write" in line for line in lines) == 2, stdout
