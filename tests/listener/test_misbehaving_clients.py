"""Issue 11, the listener's rows, against the real broker and InfluxDB: a retained reading is
not stored, a point InfluxDB refuses is counted as refused, and readings the broker drops show
in listener_stats through mosquitto's $SYS counters (test_broker_drops.py)."""

import json
import time

from devstack.wait import wait_until
from listener.config import InfluxSettings
from listener.influx import Influx
from tests.support.influx import DATABASE, count, latest_stats, points, wait_count

TS = int(time.time() * 1000) - 3_600_000


def test_a_retained_reading_is_counted_and_never_stored(listener_factory, publisher, db):
    publisher.publish("sensors/ret/pot", json.dumps({"value": 99, "ts": TS}), retain=True)
    running = listener_factory()
    publisher.publish("sensors/ret/pot", json.dumps({"value": 1, "ts": TS + 1}))
    wait_count(db, 1, service=running)
    running.restart()  # the broker sends the retained reading again at each subscription
    publisher.publish("sensors/ret/pot", json.dumps({"value": 2, "ts": TS + 2}))
    wait_count(db, 2, service=running)
    wait_until(lambda: latest_stats(db).get("rejected_retained") == 1, 10,
               message="the retained reading was not counted")
    assert [r["value"] for r in points(db, "SELECT value FROM pot")] == [1.0, 2.0]
    assert "rejected 1 retained payloads" in running.log()


def test_unparseable_lines_in_a_partial_write_are_counted_as_refused(influxdb, db):
    influx = Influx(InfluxSettings(url=influxdb.url, database=DATABASE))
    influx.prepare("30d", "520w", None)
    too_long = "pot,device=" + "x" * 70_000  # beyond InfluxDB's key length: unparseable
    ns = TS * 1_000_000
    data = (f"pot,device=a value=1 {ns}\n{too_long} value=2 {ns}\npot,device=b value=3 {ns}\n"
            f"pot,device=c value=x {ns}\n").encode()  # the last one: a field InfluxDB can't read
    assert influx.write(data, 4) == 2
    assert count(db) == 2


def test_a_device_name_influxdb_cannot_parse_is_refused_by_the_name_rules(
        listener, publisher, db):
    """Escaped, this name's series key is beyond InfluxDB's 64 KB: the shared name rules
    (service_common.readings, at most 128 characters) refuse it before it reaches InfluxDB."""
    publisher.publish("sensors/ok/pot", json.dumps({"value": 1, "ts": TS}))
    wait_count(db, 1, service=listener)
    device = "," * 33_000  # a valid topic level
    for i in range(2, 21):  # one window of unacknowledged messages: normally one batch
        topic = f"sensors/{device}/pot" if i == 10 else "sensors/ok/pot"
        publisher.client.publish(topic, json.dumps({"value": i, "ts": TS + i}), qos=1)
    publisher.publish("sensors/ok/pot", json.dumps({"value": 21, "ts": TS + 21}))
    wait_count(db, 20, service=listener)
    wait_until(lambda: latest_stats(db).get("stored") == 20, 10,
               message=f"not all stored: {latest_stats(db)}")
    stats = latest_stats(db)
    assert (stats["rejected_bad_name"], stats["influx_rejected"], stats["retries"]) == (1, 0, 0)


def test_a_board_cannot_write_the_listeners_own_measurements(listener, publisher, db):
    """A reading named listener_stats or alarm_journal would sit among the listener's counters
    or in the alarm journal under the board's device tag: refused and counted instead."""
    publisher.publish("sensors/rogue/listener_stats", json.dumps({"value": 1e9, "ts": TS}))
    publisher.publish("sensors/rogue/alarm_journal", json.dumps({"value": 1, "ts": TS}))
    publisher.publish("sensors/rogue/pot", json.dumps({"value": 1, "ts": TS}))
    wait_count(db, 1, service=listener)
    wait_until(lambda: latest_stats(db).get("rejected_reserved_name") == 2, 10,
               message=f"not counted: {latest_stats(db)}")
    assert points(db, "SELECT * FROM listener_stats WHERE device = 'rogue'") == []
    assert points(db, "SELECT * FROM alarm_journal") == []
    wait_until(lambda: "reserved_name payloads" in listener.log(), 10,
               message="the rejection was not logged")


def test_a_device_making_up_measurement_names_is_capped(listener_factory, publisher, db):
    """Each name is a series InfluxDB keeps in memory: beyond the cap a device's new names are
    refused and counted, its old names and other devices' names are still stored."""
    listener = listener_factory(LISTENER_MAX_MEASUREMENTS_PER_DEVICE="3")
    for i in range(6):
        publisher.publish(f"sensors/rogue/made_up_{i}", json.dumps({"value": i, "ts": TS + i}))
    publisher.publish("sensors/rogue/made_up_0", json.dumps({"value": 9, "ts": TS + 9}))
    publisher.publish("sensors/other/made_up_5", json.dumps({"value": 5, "ts": TS}))
    wait_count(db, 1, measurement="made_up_5", service=listener)
    wait_count(db, 2, measurement="made_up_0", service=listener)
    wait_until(lambda: latest_stats(db).get("rejected_too_many_measurements") == 3, 10,
               message=f"not counted: {latest_stats(db)}")
    stored = {row["name"] for row in points(db, "SHOW MEASUREMENTS")}
    assert {f"made_up_{i}" for i in range(6)} & stored == {"made_up_0", "made_up_1",
                                                          "made_up_2", "made_up_5"}
    assert [row["device"] for row in points(db, "SELECT value, device FROM made_up_5")] == [
        "other"]
