"""The annunciator end to end: the real broker, listener, InfluxDB, webhook, Grafana stand-in,
sensor-sim and indicator-sim with its acknowledge button (`press` on stdin)."""

import pytest

from devstack.loop import ALERT, Loop
from devstack.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
HIGH, LOW = 4095, 0
SECOND = "esp8266-demo02"


@pytest.fixture
def loop():
    with Loop(evaluation_interval=1.0, window=3.0, more_indicators=(SECOND,)) as running:
        yield running


def go(loop, raw, colour, boards=None):
    loop.set_pot(raw)
    for board in boards or [None]:
        loop.wait_for_led(colour, board=board)


def summary(loop):
    return loop.probe.last(f"alerts/{ALERT}/annunciator")


def wait_journal(loop, *rows):
    """Wait until the summary's journal rows (device None) end with `rows` (from, to, by)."""
    def summary_rows():
        return [(f, t, b) for d, f, t, b in loop.journal() if d is None]
    wait_until(lambda: summary_rows()[-len(rows):] == list(rows), 30,
               message=f"journal rows {summary_rows()}, expected to end with {rows}")


def test_fire_press_clear_and_both_indicators_follow(loop):
    both = [None, SECOND]
    go(loop, LOW, "green", both)
    go(loop, HIGH, "red-flashing", both)
    loop.press(SECOND)  # a press on one board acknowledges the alarm on every board
    for board in both:
        loop.wait_for_led("red", board=board)
    go(loop, LOW, "green", both)
    wait_journal(loop, ("normal", "unacked", None), ("unacked", "acked", SECOND),
                 ("acked", "normal", None))
    device_rows = [(f, t) for d, f, t, _ in loop.journal() if d == loop.device]
    assert device_rows[-3:] == [("normal", "unacked"), ("unacked", "acked"),
                                ("acked", "normal")]


def test_clear_before_anyone_pressed_then_acknowledge_over_http(loop):
    go(loop, HIGH, "red-flashing")
    go(loop, LOW, "green-flashing")
    status, answer = loop.http_ack()
    assert status == 200, answer
    loop.wait_for_led("green")
    assert answer["state"] == "normal"
    wait_journal(loop, ("normal", "unacked", None), ("unacked", "cleared-unacked", None),
                 ("cleared-unacked", "normal", loop.ack_auth[0]))


def restart_keeps(loop, colour, how="restart"):
    """Restart the webhook: the indicator shows `unknown` while it is away, then `colour`
    again, and nothing else in between."""
    shown = len(loop.leds())
    said = len(loop.probe.payloads("status/webhook"))
    if how == "kill":
        loop.webhook.kill()
        loop.webhook.start()
    else:
        loop.webhook.restart()

    def back_online():  # the old one's `offline` (or its will) came, then the new `online`
        since = loop.probe.payloads("status/webhook")[said:]
        return b"offline" in since and since[-1] == b"online"
    wait_until(back_online, 30, message="the webhook never said offline, then online")
    loop.wait_for_led(colour)
    assert set(loop.leds()[shown:]) <= {"unknown", colour}, loop.leds()[shown:]


def test_a_webhook_restart_in_every_state(loop):
    go(loop, HIGH, "red-flashing")
    restart_keeps(loop, "red-flashing")  # unacked
    loop.press()
    loop.wait_for_led("red")
    restart_keeps(loop, "red", how="kill")  # acked, after a kill -9
    go(loop, LOW, "green")
    restart_keeps(loop, "green")  # normal
    go(loop, HIGH, "red-flashing")
    go(loop, LOW, "green-flashing")
    restart_keeps(loop, "green-flashing")  # cleared-unacked
    assert loop.http_ack()[0] == 200
    loop.wait_for_led("green")
    # The probe is a second subscriber: it may see the state after the indicator does.
    wait_until(lambda: summary(loop) == b"normal", 10, message=f"summary: {summary(loop)}")
