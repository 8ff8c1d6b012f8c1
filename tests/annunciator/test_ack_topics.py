"""Acknowledgements under the sender's id (`.../ack/<sender id>`, vouched for by the broker's
ACL), the console's operator, the per-sender rate and the flood pause. On the in-memory link;
the flood on the real broker is test_ack_flood.py."""

import json

import pytest

from devstack.wait import wait_until
from tests.support.annunciator import notification, transitions
from webhook import ack_guard
from webhook.ack_guard import AckGuard
from webhook.notification import parse

FIRE_A = notification(("firing", "fa", "esp32-a"))


def handled(publisher):
    counts = publisher.counts_snapshot()
    return sum(counts.get(name, 0) for name in ("acks", "ack_unknown", "ack_unpublished"))


def press(publisher, link, topic, payload=b""):
    before = handled(publisher)
    link.deliver(topic, payload)
    wait_until(lambda: handled(publisher) > before, 5,
               message="the acknowledgement was never handled")


def test_the_sender_in_the_topic_is_who_acknowledged_whatever_the_payload(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    press(publisher, link, "alerts/pot-high/esp32-a/ack/esp8266-b2", b"someone-else")
    assert transitions(link)[-2:] == [("esp32-a", "unacked", "acked", "esp8266-b2"),
                                      (None, "unacked", "acked", "esp8266-b2")]


@pytest.mark.parametrize("payload, by", [
    (json.dumps({"by": "alice"}).encode(), "console:alice"),
    (b"alice", "console"),
    (json.dumps({"by": ""}).encode(), "console"),
    (json.dumps({"by": "x" * 65}).encode(), "console"),
    (json.dumps({"by": "bad\nname"}).encode(), "console"),
], ids=["operator", "not-json", "empty", "too-long", "control-char"])
def test_the_console_names_its_operator(started, payload, by):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    press(publisher, link, "alerts/pot-high/ack/console", payload)
    assert transitions(link)[-1] == (None, "unacked", "acked", by)
    assert publisher.counts_snapshot()["acks"] == 1  # once, though two filters match


def test_the_old_topic_is_still_read(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    press(publisher, link, "alerts/pot-high/ack", b"esp8266-b2")
    assert transitions(link)[-1] == (None, "unacked", "acked", "esp8266-b2")


def test_one_sender_beyond_its_rate_is_dropped_and_counted(started):
    _, publisher, link = started()
    for _ in range(ack_guard.SENDER_BURST + 3):
        link.deliver("alerts/pot-high/ack/esp8266-b2", b"")
    counts = publisher.counts_snapshot()
    assert counts["ack_rate_limited"] == 3
    wait_until(lambda: handled(publisher) == ack_guard.SENDER_BURST, 5)


def test_a_flood_unsubscribes_the_boards_but_not_the_console(started):
    _, publisher, link = started()
    publisher.apply(parse(FIRE_A))
    for index in range(ack_guard.FLOOD_PER_S + 1):
        link.deliver(f"alerts/junk/ack/esp8266-{index}", b"")
    counts = publisher.counts_snapshot()
    assert counts["ack_flood_paused"] == 1
    assert {"alerts/+/ack/+", "alerts/+/+/ack/+", "alerts/+/ack", "alerts/+/+/ack"} <= link.paused
    link.deliver("alerts/pot-high/ack/esp8266-b2", b"")  # paused: never arrives
    press(publisher, link, "alerts/pot-high/ack/console", b'{"by": "alice"}')
    assert transitions(link)[-1] == (None, "unacked", "acked", "console:alice")


def test_the_bucket_refills_with_time():
    guard = AckGuard(burst=2, interval=1.0)
    assert [guard.allow("b", 0.0) for _ in range(3)] == [True, True, False]
    assert guard.allow("b", 1.0) and not guard.allow("b", 1.0)


def test_a_flood_is_counted_within_one_second():
    guard = AckGuard(flood_per_s=3)
    assert not any(guard.flooded(0.1 * i) for i in range(3))
    assert guard.flooded(0.5)
    assert not guard.flooded(1.6)
