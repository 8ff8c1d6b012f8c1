"""Exactly once per `ts`, end to end: the real broker, listener, InfluxDB and `python -m webhook`.
A sender that repeats a request, or retries after a 503 (broker stopped, or broker frozen so
that its PUBACKs never come in time), never doubles a reading that carries `ts`."""

import os
import signal
import time

from devstack.wait import wait_until
from tests.support.influx import latest_stats, points, wait_count
from tests.support.ingest import ingest_env
from tests.support.ingest import post_url as post

BATCH = 20


def send_until_accepted(url, readings, statuses):
    """What a sender does: repeat the request until it is answered 202."""
    def accepted():
        statuses.append(post(url, readings))
        return statuses[-1] == 202
    wait_until(accepted, 60, interval=0.2, message=f"never accepted: {statuses[-5:]}")


def batch(first_ts, start):
    return [{"device": "plc-1", "measurement": "temp", "value": start + i, "ts": first_ts + i,
             "seq": start + i} for i in range(BATCH)]


def test_retries_and_repeats_never_double_a_reading_with_ts(
        mosquitto, listener_factory, webhook_service, db):
    listener = listener_factory()
    webhook = webhook_service(**ingest_env(MQTT_KEEPALIVE=5, WEBHOOK_PUBLISH_TIMEOUT=1))
    first_ts = int(time.time() * 1000) - 60_000
    sent = []

    # 1. Accepted, then sent again as if the 202 had been lost.
    sent += batch(first_ts, 0)
    assert post(webhook.url, sent[-BATCH:]) == 202
    assert post(webhook.url, sent[-BATCH:]) == 202

    # 2. The broker stops: 503 until it is back, then the retry is accepted.
    mosquitto.stop()
    sent += batch(first_ts + 1000, 100)
    assert post(webhook.url, sent[-BATCH:]) == 503
    mosquitto.start()
    statuses = []
    send_until_accepted(webhook.url, sent[-BATCH:], statuses)

    # 3. The broker freezes: it takes the publishes but its PUBACKs come too late (503); it
    # delivers them once it thaws, and the sender's retry delivers them a second time.
    sent += batch(first_ts + 2000, 200)
    os.killpg(mosquitto.process.pid, signal.SIGSTOP)
    try:
        assert post(webhook.url, sent[-BATCH:]) == 503
    finally:
        os.killpg(mosquitto.process.pid, signal.SIGCONT)
    send_until_accepted(webhook.url, sent[-BATCH:], [])
    assert post(webhook.url, sent[-BATCH:]) == 202

    wait_count(db, len(sent), measurement="temp", service=[listener])
    # Every message the listener received is stored (a double overwrites its first copy):
    # received counts the doubles, so a double that was going to add a point would have.
    # A retry may deliver more doubles than these, and a snapshot of the stats may count a
    # message whose batch is still being written: wait until the stats have caught up.
    doubles = 2 * BATCH  # the repeated request of 1. and of 3.
    try:
        wait_until(lambda: _settled(latest_stats(db), len(sent) + doubles), 30, interval=0.2)
    except TimeoutError:
        raise AssertionError(f"listener stats: {latest_stats(db)}") from None
    stored = points(db, 'SELECT "value", "seq" FROM "temp"')
    assert len(stored) == len(sent)
    assert [(row["time"] // 1_000_000, row["value"], row["seq"]) for row in stored] == \
        [(r["ts"], r["value"], r["seq"]) for r in sent]
    assert latest_stats(db)["rejected"] == 0


def _settled(stats, at_least):
    """Every message received is stored, and at least `at_least` of them."""
    return stats.get("stored", 0) >= at_least and stats["stored"] == stats["received"]
