"""Issue 11's rows on the listener, over the real broker into the real InfluxDB: readings with
`ts` a week apart up to 2262 (and back to 2000) open no shard and are counted by kind, and
numbers in fullwidth or Arabic-Indic digits are refused, not stored as 42."""

import time

from devstack.wait import wait_until
from service_common.readings import TS_MAX_MS, TS_MIN_MS
from tests.listener.conftest import count, latest_stats, points, wait_count

WEEK = 7 * 86_400_000


def shards(db):
    return [row for row in points(db, "SHOW SHARDS") if row.get("database") == "test"]


def test_ts_outside_the_window_is_counted_and_opens_no_shard(listener_factory, publisher, db):
    listener = listener_factory()
    now = int(time.time() * 1000)
    publisher.publish("sensors/clock/pot", b'{"value": 1, "ts": %d}' % now)
    wait_count(db, 1, service=listener)
    before = len(shards(db))
    assert before >= 1
    # Far into the future, spread up to InfluxDB's last instant in 2262, then back to 2000.
    future = list(range(now + WEEK, now + 300 * WEEK, WEEK)) + \
        list(range(now + 300 * WEEK, TS_MAX_MS, (TS_MAX_MS - now) // 300)) + [TS_MAX_MS]
    past = list(range(now - 5 * WEEK, TS_MIN_MS, -WEEK))
    for ts in future + past:
        publisher.client.publish("sensors/clock/pot", b'{"value": 2, "ts": %d}' % ts, qos=1)
    publisher.publish("sensors/clock/pot", b'{"value": 3, "ts": %d}' % (now + 1))
    wait_count(db, 2, service=listener)

    def counted():
        stats = latest_stats(db)
        return stats.get("rejected_ts_in_future") == len(future) and \
            stats.get("rejected_ts_too_old") == len(past)
    wait_until(counted, 15, interval=0.2, message=f"stats: {latest_stats(db)}")
    assert count(db) == 2
    assert len(shards(db)) == before


def test_non_ascii_digits_are_refused(listener_factory, publisher, db):
    listener = listener_factory()
    for payload in ("４２", "٤٢", '{"value": ４２}', "4２"):
        publisher.publish("sensors/digits/pot", payload.encode())
    publisher.publish("sensors/digits/pot", b"7")
    wait_count(db, 1, service=listener)
    wait_until(lambda: latest_stats(db).get("rejected") == 4, 15, interval=0.2)
    stats = latest_stats(db)
    assert (stats["rejected_not_a_number"], stats["rejected_bad_json"]) == (3, 1)
    assert [row["value"] for row in points(db, 'SELECT "value" FROM "pot"')] == [7.0]

