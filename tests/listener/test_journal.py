"""The alarm journal: webhook journal messages -> measurement alarm_journal, through the real
listener into a real InfluxDB (and its spool while InfluxDB is down)."""

import json
import re
import time

import pytest

from devstack.paths import ROOT
from devstack.wait import wait_until
from listener.app import Listener
from listener.config import read_settings
from listener.journal import line
from listener.parse import Rejection
from listener.spool import Spool
from service_common.journal import Entry, encode
from tests.support.influx import latest_stats, points
from tests.support.listener_fakes import FakeInflux, message, recording_client

TS = int(time.time() * 1000) - 3_600_000  # an hour ago, within the retention
TOPIC = "alerts/_webhook/webhook/journal"


def entry(**changes):
    values = {"ts": TS, "alert": "pot-high", "device": "esp32-a1", "from_state": "unacked",
              "to_state": "acked", "by": "esp8266-b2"}
    values.update(changes)
    return Entry(**values)


LINES = [
    (entry(), 'alarm_journal,alert=pot-high,device=esp32-a1 from="unacked",to="acked",'
              f'by="esp8266-b2" {TS}000000'),
    (entry(device=None, by=None, from_state="normal", to_state="unacked"),
     f'alarm_journal,alert=pot-high from="normal",to="unacked" {TS}000000'),
    (entry(device="bay 1,a=b", by='op "x" \\ y'),
     r'alarm_journal,alert=pot-high,device=bay\ 1\,a\=b from="unacked",to="acked",'
     rf'by="op \"x\" \\ y" {TS}000000'),
]


@pytest.mark.parametrize("given, expected", LINES, ids=["device-by", "summary", "escaped"])
def test_journal_entry_to_line(given, expected):
    assert line(encode(given), 1024) == expected


BAD = [
    (b"\xff", "not_utf8"), (b"{", "bad_json"), (b"[]", "wrong_shape"),
    (json.dumps({"ts": "1", "alert": "a", "from": "normal", "to": "acked"}), "wrong_shape"),
    (json.dumps({"ts": TS, "alert": "", "from": "normal", "to": "acked"}), "wrong_shape"),
    (json.dumps({"ts": TS, "alert": "a", "from": "red", "to": "acked"}), "wrong_shape"),
    (json.dumps({"ts": TS, "alert": "a", "device": 3, "from": "normal", "to": "acked"}),
     "wrong_shape"),
    (json.dumps({"ts": TS, "alert": "a", "device": "a\\", "from": "normal", "to": "acked"}),
     "wrong_shape"),
    (json.dumps({"ts": TS, "alert": "a", "by": "x\ny", "from": "normal", "to": "acked"}),
     "wrong_shape"),
    (json.dumps({"ts": -12, "alert": "a", "from": "normal", "to": "acked"}), "bad_ts"),
    (b"{" + b" " * 2000 + b"}", "too_large"),
]


@pytest.mark.parametrize("payload, kind", BAD, ids=[
    "not-utf8", "bad-json", "array", "ts-string", "empty-alert", "unknown-state",
    "device-number", "backslash-in-tag", "newline", "ts-negative", "too-large"])
def test_bad_journal_entries_are_rejected(payload, kind):
    payload = payload.encode() if isinstance(payload, str) else payload
    rejection = line(payload, 1024)
    assert type(rejection) is Rejection and rejection.kind == kind


def journal_rows(db):
    return points(db, "SELECT * FROM alarm_journal")


def test_journal_entries_are_stored_once_even_when_redelivered(listener, publisher, db):
    entries = [entry(device=None, by=None, from_state="normal", to_state="unacked"),
               entry(ts=TS + 1), entry(ts=TS + 2, device=None, from_state="unacked",
                                       to_state="acked", by="operator")]
    for item in entries + entries[:1]:  # the first one twice, as a redelivery would
        publisher.publish(TOPIC, encode(item))
    publisher.publish(TOPIC, b"not json")
    expected = [(e.ts, e.alert, e.device, e.from_state, e.to_state, e.by) for e in entries]

    def stored():  # whole rows: a query can meet InfluxDB while it applies a write's fields
        return [(r["time"] // 1_000_000, r["alert"], r["device"], r["from"], r["to"], r["by"])
                for r in journal_rows(db)]

    try:
        wait_until(lambda: stored() == expected, 30)
    except TimeoutError:
        raise AssertionError(f"journal rows {stored()} != {expected}") from None
    tags = {p["tagKey"] for p in points(db, "SHOW TAG KEYS FROM alarm_journal")}
    assert tags == {"alert", "device"}
    wait_until(lambda: latest_stats(db).get("rejected_bad_json") == 1, 10)


def test_journal_survives_an_influxdb_outage(listener, publisher, db, influxdb):
    publisher.publish(TOPIC, encode(entry(ts=TS)))
    wait_until(lambda: len(journal_rows(db)) == 1, 30)
    influxdb.stop()
    publisher.publish(TOPIC, encode(entry(ts=TS + 5, from_state="acked", to_state="normal")))
    wait_until(lambda: listener.spool_dir.exists() and any(listener.spool_dir.iterdir()), 10)
    influxdb.start()
    wait_until(lambda: len(journal_rows(db)) == 2, 30,
               message="the entry published while InfluxDB was down never arrived")


def documented_queries():
    """The dashboard's InfluxQL from docs/annunciator.md, in order: annotations, table."""
    text = (ROOT / "docs" / "annunciator.md").read_text()
    return [q.strip() for q in re.findall(r"```sql\n(.*?)```", text, re.S)]


def test_the_documented_dashboard_queries_work(listener, publisher, db):
    entries = [entry(device=None, by=None, from_state="normal", to_state="unacked"),
               entry(ts=TS + 1, by=None, from_state="normal", to_state="unacked"),
               entry(ts=TS + 2, device=None, by="operator")]
    for item in entries:
        publisher.publish(TOPIC, encode(item))
    wait_until(lambda: len(journal_rows(db)) == 3, 30, message="journal rows missing")
    annotations, table = [q.replace("$timeFilter", "time > now() - 7d")
                          for q in documented_queries()]
    assert [(r["from"], r["to"], r["by"]) for r in points(db, annotations)] == [
        ("normal", "unacked", None), ("unacked", "acked", "operator")]
    rows = points(db, table)
    assert [(r["device"], r["to"]) for r in rows] == [(None, "acked"), ("esp32-a1", "unacked"),
                                                      (None, "unacked")]


def test_the_journal_route_stores_entries_in_order_with_the_readings(tmp_path):
    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                              "LISTENER_BROKER_STATS": "false", "LISTENER_QOS": "0"})
    influx = FakeInflux()
    listener = Listener(settings, influx=influx, spool=Spool(settings.spool_dir, 10_000).open(),
                        client_factory=recording_client)
    assert listener.subscriptions == [("sensors/+/+", 0), ("alerts/_webhook/+/journal", 1),
                                     ("journal/+", 1)]
    dispatch = listener.client._handle_on_message
    dispatch(message("sensors/d1/pot", b"1", 1))
    dispatch(message(TOPIC, encode(entry()), 2))
    dispatch(message(TOPIC, b"{", 3))
    dispatch(message(TOPIC, encode(entry()), 4, retain=True))
    dispatch(message("sensors/d1/pot", b"2", 5))
    listener.writer.step(flush_now=True)
    assert listener.client.acked == [1, 2, 3, 4, 5]
    assert [line.split(",")[0] for line in influx.lines] == ["pot", "alarm_journal", "pot"]
    rejected = listener.stats.rejected
    assert (listener.stats.received, rejected["bad_json"], rejected["retained"]) == (5, 1, 1)


def test_a_journal_line_is_made_by_the_stores_encoder():
    class Tagged:
        @staticmethod
        def text(measurement, tags, fields, time_ns):
            return ("store's own", measurement, tags, fields, time_ns)

    entry = Entry(1_700_000_000_000, "pot-high", None, "normal", "unacked", None)
    assert line(encode(entry), 1024, Tagged) == (
        "store's own", "alarm_journal", {"alert": "pot-high"},
        {"from": "normal", "to": "unacked"}, 1_700_000_000_000_000_000)
