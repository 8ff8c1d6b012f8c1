"""The real `python -m listener` against real mosquitto and influxd: formats, bursts, bad input,
crashes, outages, restarts, SIGTERM and shared subscriptions."""

import json
import re
import threading
import time

import pytest

from devstack.wait import wait_until
from tests.support.influx import count, latest_stats, points, wait_count

TS = int(time.time() * 1000) - 3_600_000  # epoch ms an hour ago, within the retention


def test_formats_are_stored_with_device_tag_value_seq_and_time(listener, publisher, db):
    publisher.publish("sensors/esp32-a1/pot", b"42")
    publisher.publish("sensors/esp32-a1/pot", b"-3.5")
    publisher.publish("sensors/esp32-b2/pot", json.dumps({"value": 7, "ts": TS, "seq": 9}))
    publisher.publish("sensors/esp32-b2/temp", json.dumps({"value": 21.5}))
    wait_count(db, 3, service=listener)
    wait_count(db, 1, "temp", service=listener)

    def stored():
        found = {}
        for row in db.query('SELECT * FROM pot GROUP BY "device"', epoch="ms").items():
            found[row[0][1]["device"]] = list(row[1])
        return found

    # Whole rows: a query can meet InfluxDB while it applies a write's fields (seq after value).
    wait_until(lambda: stored().get("esp32-b2", [{}])[0].get("seq") is not None, 10)
    rows = points(db, 'SELECT * FROM pot GROUP BY "device"')
    by_device = stored()
    assert [r["value"] for r in by_device["esp32-a1"]] == [42.0, -3.5]
    assert [r["seq"] for r in by_device["esp32-a1"]] == [None, None]
    assert by_device["esp32-b2"] == [{"time": TS, "value": 7.0, "seq": 9}]
    assert len(rows) == 3
    field_types = {p["fieldKey"]: p["fieldType"] for p in points(db, "SHOW FIELD KEYS FROM pot")}
    assert field_types == {"value": "float", "seq": "integer"}
    temp = points(db, "SELECT * FROM temp")
    assert [(r["device"], r["value"]) for r in temp] == [("esp32-b2", 21.5)]


def test_sensors_root_with_several_levels(listener_factory, publisher, db):
    running = listener_factory(MQTT_SENSORS_ROOT="/pot", LISTENER_TOPICS="/pot/+/+")
    publisher.publish("/pot/esp32-c3/pot", b"12")
    wait_count(db, 1, service=running)
    assert points(db, "SELECT * FROM pot")[0]["device"] == "esp32-c3"


def test_burst_without_ts_never_collides(listener, publisher, db):
    burst = 2000
    for i in range(burst):
        publisher.client.publish("sensors/burst/pot", str(i).encode(), qos=1)
    publisher.publish("sensors/burst/pot", b"-1")  # waits until the broker has everything
    assert wait_count(db, burst + 1, service=listener) == burst + 1
    values = sorted(r["value"] for r in points(db, "SELECT value FROM pot"))
    assert values == [-1.0] + [float(i) for i in range(burst)]


BAD_PAYLOADS = [
    ("sensors/dev/pot", b"", "empty"),
    ("sensors/dev/pot", b"hello", "not_a_number"),
    ("sensors/dev/pot", b"NaN", "not_finite"),
    ("sensors/dev/pot", b"-inf", "not_finite"),
    ("sensors/dev/pot", b'{"value": NaN}', "not_finite"),
    ("sensors/dev/pot", b"1e999", "out_of_range"),
    ("sensors/dev/pot", b"\xff\xfe", "not_utf8"),
    ("sensors/dev/pot", b'{"value": 1', "bad_json"),
    ("sensors/dev/pot", b'{"value": "1"}', "wrong_shape"),
    ("sensors/dev/pot", b"[1]", "not_a_number"),
    ("sensors/dev/pot", b'{"value": 1, "ts": 12}', "bad_ts"),
    ("sensors/dev/pot", b"1" * 2000, "too_large"),
    ("sensors/pot", b"1", "bad_topic"),
    ("sensors/a/b/pot", b"1", "bad_topic"),
]


def test_bad_payloads_are_counted_and_good_ones_stored(listener_factory, publisher, db):
    listener = listener_factory(LISTENER_TOPICS="sensors/#")  # so wrong topics arrive too
    for i, (topic, payload, _) in enumerate(BAD_PAYLOADS):
        publisher.publish("sensors/dev/pot", str(i).encode())
        publisher.publish(topic, payload)
    publisher.publish("sensors/dev/pot", b"100")
    wait_count(db, len(BAD_PAYLOADS) + 1, service=listener)

    expected = {}
    for _, _, kind in BAD_PAYLOADS:
        expected[f"rejected_{kind}"] = expected.get(f"rejected_{kind}", 0) + 1

    def stats_show_all():  # a snapshot taken once every good reading is stored
        stats = latest_stats(db)
        return stats if stats.get("stored") == len(BAD_PAYLOADS) + 1 and all(
            stats.get(k) == v for k, v in expected.items()) else None
    try:
        stats = wait_until(stats_show_all, 10, interval=0.2)
    except TimeoutError:
        raise AssertionError(f"stats never showed {expected}: {latest_stats(db)}") from None
    assert stats["rejected"] == len(BAD_PAYLOADS)
    assert stats["received"] == 2 * len(BAD_PAYLOADS) + 1
    assert listener.service.running
    assert "rejected 1 too_large payloads" in listener.log()


def test_a_point_influxdb_refuses_does_not_drop_the_rest_of_its_batch(listener, publisher, db):
    publisher.publish("sensors/mix/pot", b"0")
    wait_count(db, 1, service=listener)
    db.write_points([{"measurement": "temp", "tags": {"device": "old"}, "fields": {"value": "x"}}])
    for i in range(1, 20):  # one window of unacknowledged messages: normally one batch
        topic = "sensors/mix/temp" if i == 10 else "sensors/mix/pot"
        publisher.client.publish(topic, str(i).encode(), qos=1)
    publisher.publish("sensors/mix/pot", b"20")
    assert wait_count(db, 20, service=listener) == 20
    wait_until(lambda: latest_stats(db).get("stored") == 20, 10)
    stats = latest_stats(db)
    assert (stats["influx_rejected"], stats["retries"], stats["spooled"]) == (1, 0, 0)
    assert "InfluxDB refused 1 of" in listener.log()


def _publish_stream(publisher, count_, topic="sensors/crash/pot", pause_every=50):
    for seq in range(count_):
        payload = json.dumps({"value": seq, "ts": TS + seq, "seq": seq})
        publisher.client.publish(topic, payload, qos=1)
        if seq % pause_every == 0:
            time.sleep(0.005)  # spread the stream so the crash lands in the middle of it


def test_kill_9_mid_stream_loses_nothing(listener, publisher, db):
    total = 3000
    stream = threading.Thread(target=_publish_stream, args=(publisher, total))
    stream.start()
    wait_until(lambda: count(db) > 200, 20, interval=0.05)
    listener.kill()
    stream.join()
    publisher.publish("sensors/crash/pot", json.dumps({"value": -1, "ts": TS - 1}))
    listener.start()
    assert wait_count(db, total + 1, service=listener) == total + 1
    seqs = sorted(r["seq"] for r in points(db, "SELECT seq FROM pot WHERE seq >= 0"))
    assert seqs == list(range(total))


def test_influxdb_outage_spools_then_drains_in_order(listener, publisher, db, influxdb):
    for i in range(100):
        publisher.client.publish("sensors/out/pot", json.dumps({"value": i, "ts": TS + i}), qos=1)
    wait_count(db, 100, service=listener)
    influxdb.stop()
    for i in range(100, 600):
        publisher.client.publish("sensors/out/pot", json.dumps({"value": i, "ts": TS + i}), qos=1)
    spool = listener.spool_dir
    wait_until(lambda: list(spool.glob("*.lp")), 10, message="listener never spooled")
    influxdb.start()
    assert wait_count(db, 600, timeout=40, service=listener) == 600
    wait_until(lambda: not list(spool.glob("*.lp")), 10, message="spool not drained")
    values = [r["value"] for r in points(db, "SELECT value FROM pot")]
    assert values == [float(i) for i in range(600)]
    wait_until(lambda: latest_stats(db).get("spooled", 0) > 0, 10)
    assert "InfluxDB unavailable, spooling" in listener.log()


def test_broker_restart_resumes_by_itself(listener, publisher, db, mosquitto, status_probe):
    publisher.publish("sensors/br/pot", json.dumps({"value": 1, "ts": TS}))
    wait_count(db, 1, service=listener)
    before = len(status_probe.received())
    mosquitto.restart()
    wait_until(lambda: status_probe.client.is_connected() and publisher.client.is_connected(),
               20)

    def back_online():  # said live to the restarted broker: not its retained copy
        return (b"online", False) in [(payload, retain) for topic, payload, retain
                                      in status_probe.received()[before:]
                                      if topic == "status/listener"]
    wait_until(back_online, 40, interval=0.1, message="listener never came back online")
    publisher.publish("sensors/br/pot", json.dumps({"value": 2, "ts": TS + 1}))
    assert wait_count(db, 2, service=listener) == 2


def test_sigterm_flushes_what_it_holds_and_says_offline(listener_factory, publisher, db,
                                                        status_probe):
    running = listener_factory(LISTENER_FLUSH_INTERVAL=60, LISTENER_BATCH_SIZE=100000,
                               LISTENER_STATS_INTERVAL=0.2)
    for i in range(50):
        publisher.publish("sensors/term/pot", str(i).encode(), qos=0)
    wait_until(lambda: latest_stats(db).get("received") == 50, 10, interval=0.1,
               message="the listener never received the readings")
    assert count(db) == 0
    assert running.stop() == 0
    assert count(db) == 50
    status_probe.wait_for("status/listener", "offline")


def test_sigterm_mid_stream_stores_every_reading_it_received(listener_factory, publisher, db):
    running = listener_factory()
    stop = threading.Event()

    def stream():
        seq = 0
        while not stop.is_set():
            payload = json.dumps({"value": seq, "ts": TS + seq, "seq": seq})
            publisher.client.publish("sensors/late/pot", payload, qos=0)
            seq += 1
            if seq % 200 == 0:
                time.sleep(0.001)  # let the publisher's network thread keep up
    streaming = threading.Thread(target=stream)
    streaming.start()
    try:
        wait_until(lambda: count(db) > 500, 20, interval=0.05)
        assert running.stop() == 0
    finally:
        stop.set()
        streaming.join()
    received = re.search(r"stopped: (\d+) received", running.log())
    assert received, running.log()
    spooled = sum(p.read_bytes().count(b"\n") for p in running.spool_dir.glob("*.lp"))
    assert count(db) + spooled == int(received.group(1))


def test_sigterm_while_influxdb_is_down_spools_for_the_next_run(listener_factory, publisher,
                                                                 db, influxdb):
    running = listener_factory(LISTENER_FLUSH_INTERVAL=60, LISTENER_BATCH_SIZE=100000,
                               LISTENER_STATS_INTERVAL=0.2)
    for i in range(30):
        publisher.publish("sensors/term/pot", json.dumps({"value": i, "ts": TS + i}), qos=0)
    wait_until(lambda: latest_stats(db).get("received") == 30, 10, interval=0.1)
    influxdb.stop()
    assert running.stop() == 0
    assert list(running.spool_dir.glob("*.lp"))
    influxdb.start()
    running.start()
    assert wait_count(db, 30, service=running) == 30


@pytest.mark.parametrize("instances", [2, 3])
def test_shared_subscription_splits_without_duplicates(listener_factory, publisher, db,
                                                       instances):
    names = [f"listener-{i}" for i in range(instances)]
    running = [listener_factory(name, LISTENER_TOPICS="$share/ingest/sensors/+/+")
               for name in names]
    total = 1000
    for seq in range(total):
        payload = json.dumps({"value": seq, "ts": TS + seq, "seq": seq})
        publisher.client.publish("sensors/shared/pot", payload, qos=1)
    publisher.publish("sensors/shared/pot", json.dumps({"value": -1, "ts": TS - 1}))
    assert wait_count(db, total + 1, service=running) == total + 1
    seqs = sorted(r["seq"] for r in points(db, "SELECT seq FROM pot WHERE seq >= 0"))
    assert seqs == list(range(total))

    def received():
        return [latest_stats(db, name).get("received", 0) for name in names]
    try:
        wait_until(lambda: sum(received()) >= total + 1, 10, interval=0.1)
    except TimeoutError:
        raise AssertionError(f"received per listener: {received()}") from None
    assert sum(received()) == total + 1, "a message went to more than one listener"
    assert all(n > 0 for n in received()), f"one listener got nothing: {received()}"


def test_readings_missing_from_a_devices_seq_are_counted_and_written_per_device(listener,
                                                                                 publisher, db):
    for seq in (1, 2, 5, 6):  # 3 and 4 never arrive
        publisher.publish("sensors/esp32-gap/pot", json.dumps({"value": seq, "seq": seq}))
    publisher.publish("sensors/esp32-ok/pot", json.dumps({"value": 1, "seq": 7}))
    wait_count(db, 5, service=listener)
    wait_until(lambda: latest_stats(db).get("seq_gaps") == 2, 30, interval=0.2,
               message="seq_gaps never reached 2")
    rows = points(db, 'SELECT sum("seq_missing") FROM listener_stats GROUP BY "device"')
    assert rows == [{"time": 0, "sum": 2}]
    tags = db.query('SELECT sum("seq_missing") FROM listener_stats GROUP BY "device"').keys()
    assert [t[1]["device"] for t in tags] == ["esp32-gap"]
