"""The loop with an output, end to end on real servers: the pot on sensor-sim, the listener,
InfluxDB, the Grafana stand-in evaluating the provisioned rules, the webhook, `python -m
actions` and the relay (actuator-sim once built, else the Tasmota simulator)."""

import pytest

from devstack.actions_loop import OUTPUT, ActionsLoop
from devstack.wait import wait_until
from tests.support.ci import missing

HIGH, LOW = 4095, 0


def loop_or_skip(**options):
    try:
        return ActionsLoop(**options).__enter__()
    except FileNotFoundError as error:
        missing(str(error))


@pytest.fixture
def loop():
    started = loop_or_skip()
    yield started
    started.close()


def test_pot_high_switches_the_relay_on_confirmed_then_off(loop):
    loop.set_pot(LOW)
    loop.wait_output(reported="off", confirmed=True, mode="auto")
    loop.set_pot(HIGH)
    loop.wait_output(commanded="on", reported="on", confirmed=True)
    assert loop.relay_on()
    loop.set_pot(LOW)
    loop.wait_output(commanded="off", reported="off", confirmed=True)
    assert not loop.relay_on()


def test_an_ignored_command_is_a_mismatch_alarm_on_the_annunciator(loop):
    loop.set_pot(LOW)
    loop.wait_output(reported="off", confirmed=True)
    loop.relay_ignores()
    loop.set_pot(HIGH)
    loop.wait_output(commanded="on", mismatch=True)
    # output_mismatch reading -> InfluxDB -> the Actuator mismatch rule -> webhook -> annunciator
    wait_until(lambda: loop.alarm_state("actuator-mismatch", OUTPUT) == "unacked", 60,
               message="the mismatch never reached the annunciator")
    # the webhook publishes the annunciator state first, then the 1/0 topic
    loop.watch.wait_for(f"alerts/actuator-mismatch/{OUTPUT}", b"1", timeout=30)


def test_webhook_killed_drives_the_safe_state():
    loop = loop_or_skip(safe_state="on")
    try:
        loop.set_pot(LOW)
        loop.wait_output(reported="off", confirmed=True, mode="auto")
        loop.webhook.kill()
        state = loop.wait_output(mode="failsafe", commanded="on", reported="on")
        assert state["confirmed"]
        loop.webhook.start()
        loop.wait_output(mode="auto", commanded="off", reported="off")
    finally:
        loop.close()
