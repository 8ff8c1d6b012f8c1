"""`make demo` as a user runs it: the whole loop, the operator's button press included, a relay
following the alarm through the actions service and its mismatch alarm, every process stopped at
the end."""

import pytest

from tests.support.demos import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_the_demo_shows_the_annunciator_sequence_and_the_relay():
    stdout, _ = run_demo("devstack.demo")
    loop, _, mismatch = stdout.partition("stage: the relay")
    leds = [line.split()[1] for line in loop.splitlines() if line.strip().startswith("LED ")]
    assert leds[-3:] == ["red-flashing", "red", "green"], stdout
    relay = [line.strip() for line in loop.splitlines() if line.strip().startswith("RELAY ")]
    assert any(line.startswith("RELAY on confirmed") for line in relay), stdout
    assert relay[-1].startswith("RELAY off confirmed"), stdout
    assert "RELAY on MISMATCH" in mismatch, stdout
    assert "alarm alerts/actuator-mismatch/shed-fan: unacked" in mismatch, stdout
