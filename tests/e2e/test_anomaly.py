"""The z-score anomaly rule end to end: sensor-sim, listener, InfluxDB, the Grafana stand-in
evaluating the provisioned "Pot anomaly" rule, and the webhook publishing
`alerts/pot-anomaly/<device>`. The stand-in runs the rule at demo speed: its 10 s window becomes
0.5 s and its 10 min history 30 s, in proportion."""

import pytest

from devstack.loop import Loop
from devstack.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
RULE = "pot-anomaly"


def readings(loop):
    return len(loop.probe.payloads(f"sensors/{loop.device}/pot"))


def test_a_steady_pot_stays_quiet_and_a_step_fires_the_anomaly_alarm():
    with Loop(evaluation_interval=1.0, window=0.5, rules=(RULE,),
              parts=("listener", "webhook", "sensor", "standin")) as loop:
        topic = f"alerts/{RULE}/{loop.device}"
        loop.set_pot(1000)
        # Steady for the history window (30 s of readings every 200 ms): many evaluations over
        # a flat line, whose deviation is zero, and a full history for the step to stand out.
        steady = readings(loop) + 150
        wait_until(lambda: readings(loop) >= steady, 60, message="sensor-sim sent too few readings")
        assert b"1" not in loop.probe.payloads(topic)
        loop.set_pot(3500)
        loop.probe.wait_for(topic, "1", timeout=30)
