"""Issue 11: a QoS 1 flood of junk next to honest readings overflows the listener's queue at
the broker; the broker's drop count ($SYS) shows in listener_stats, next to what was received."""

import json
import time

import pytest

from devstack.wait import wait_until
from tests.support.influx import count, latest_stats

TS = int(time.time() * 1000) - 3_600_000


# A small queue for the listener, so that a flood makes the broker drop messages.
FLOOD_BROKER = """\
max_queued_messages 10
max_inflight_messages 20
sys_interval 1
"""


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=FLOOD_BROKER)


def test_readings_the_broker_drops_in_a_junk_flood_show_in_listener_stats(listener, publisher,
                                                                          db):
    junk = b"j" * 10_000
    total = 2000
    for i in range(total):
        if i % 2:
            publisher.client.publish("sensors/junk/pot", junk, qos=1)
        else:
            publisher.client.publish("sensors/honest/pot", json.dumps({"value": i, "ts": TS + i}),
                                     qos=1)
    publisher.publish("sensors/honest/pot", json.dumps({"value": -1, "ts": TS - 1}))
    published = total + 1

    def settled():  # every message accounted for, and every batch in flight written
        stats = latest_stats(db)
        seen = stats.get("received", 0) + stats.get("broker_dropped", 0)
        written = stats.get("rejected_too_large", 0) + stats.get("stored", 0)
        return stats if seen == published and written == stats["received"] else None
    try:
        stats = wait_until(settled, 30, interval=0.2)
    except TimeoutError:
        raise AssertionError(f"received + broker_dropped never reached {published}, or "
                             "rejected_too_large + stored never reached received: "
                             f"{latest_stats(db)}") from None
    assert stats["broker_dropped"] > 0, "the flood did not overflow the listener's queue"
    assert count(db) == stats["stored"]
