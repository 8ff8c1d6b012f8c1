"""The durable outbox of `/ingest` (webhook/ingest_outbox.py): written and fsynced before the
202, published again at the next start, bounded in time and bytes; and the stamps that make a
replay of readings sent without `ts` store them once."""

import json

import pytest

from tests.support.ingest import INGEST_AUTH, ingest_env, outbox_dir
from tests.support.webhook import basic
from webhook.ingest_outbox import Outbox, OutboxFull, Stamper
from webhook.mqtt_link import BrokerUnavailable


class Clock:
    now = 1_800_000_000.0

    def __call__(self):
        return self.now


def test_what_is_appended_is_pending_until_the_window_passes(tmp_path):
    clock = Clock()
    outbox = Outbox(tmp_path, window=600, max_bytes=2**20, clock=clock)
    outbox.append([("sensors/a/t", b'{"value":1.0,"ts":1}')])
    clock.now += 400
    outbox.append([("sensors/a/t", b'{"value":2.0,"ts":2}'), ("sensors/b/t", b'{"value":3.0}')])
    assert [p for _, p in outbox.pending()] == [b'{"value":1.0,"ts":1}', b'{"value":2.0,"ts":2}',
                                              b'{"value":3.0}']
    clock.now += 300
    assert len(outbox.pending()) == 2  # the first is older than the window
    clock.now += 1000
    outbox.append([("sensors/c/t", b"{}")])
    assert len(list(tmp_path.glob("ingest-*.log"))) == 1  # expired files are deleted
    assert outbox.pending() == [("sensors/c/t", b"{}")]


def test_a_line_torn_by_a_power_cut_is_skipped(tmp_path):
    outbox = Outbox(tmp_path, window=600, max_bytes=2**20)
    outbox.append([("sensors/a/t", b"1")])
    outbox.close()
    [path] = tmp_path.glob("ingest-*.log")
    with open(path, "ab") as file:
        file.write(b'[1,[["sensors/a/t","2"')
    assert Outbox(tmp_path, window=600, max_bytes=2**20).pending() == [("sensors/a/t", b"1")]


def test_the_outbox_is_bounded_in_bytes(tmp_path):
    outbox = Outbox(tmp_path, window=600, max_bytes=64 * 1024)
    with pytest.raises(OutboxFull, match="INGEST_OUTBOX_MAX_BYTES"):
        for _ in range(10_000):
            outbox.append([("sensors/a/t", b"x" * 100)])
    assert sum(p.stat().st_size for p in tmp_path.glob("*.log")) <= 64 * 1024


def test_replay_waits_for_the_broker_and_publishes_everything_once(tmp_path):
    outbox = Outbox(tmp_path, window=600, max_bytes=2**22)
    outbox.append([("sensors/a/t", str(i).encode()) for i in range(1200)])
    calls, published, counted = [], [], []

    def publish(messages):
        calls.append(len(messages))
        if len(calls) <= 2:
            raise BrokerUnavailable("not connected to the MQTT broker")
        published.extend(messages)

    outbox.replay(publish, lambda name, n: counted.append((name, n)))
    assert [int(p) for _, p in published] == list(range(1200))
    assert sum(n for _, n in counted) == 1200


def test_stamps_never_repeat_a_millisecond_within_a_series():
    stamper = Stamper(limit=2)
    assert [stamper.stamp("a", 1000) for _ in range(3)] == [1000, 1001, 1002]
    assert stamper.stamp("b", 1000) == 1000
    assert stamper.stamp("a", 2000) == 2000
    stamper.stamp("c", 5)  # "b" is forgotten, the least recently used
    assert stamper.stamp("b", 1000) == 1000


def test_a_202_is_on_disk_and_published_again_by_the_next_start(app_factory):
    folder = outbox_dir()
    first = app_factory(**ingest_env(INGEST_OUTBOX_DIR=folder))
    readings = [{"device": "plc-1", "measurement": "temp", "value": v} for v in range(3)]
    answer = first.test_client().post("/ingest", json=readings, headers=basic(INGEST_AUTH))
    assert answer.status_code == 202
    sent = [p for t, p, _ in first.link.published if t.startswith("sensors/")]
    assert all("ts" in json.loads(p) for p in sent)
    second = app_factory(**ingest_env(INGEST_OUTBOX_DIR=folder))

    def replayed():
        return [p for t, p, _ in second.link.published if t.startswith("sensors/")]

    from devstack.wait import wait_until
    wait_until(lambda: replayed() == sent, 10, message=f"not replayed: {replayed()}")
    wait_until(lambda: second.extensions["counters"].snapshot().get("ingest_replayed") == 3, 5)


def test_a_disk_that_fails_is_a_503_and_nothing_is_published(app_factory, monkeypatch):
    app = app_factory(**ingest_env())
    outbox = app.extensions["ingest_outbox"]
    monkeypatch.setattr(outbox, "append", lambda messages: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))
    answer = app.test_client().post("/ingest", json={"device": "plc-1", "measurement": "t",
                                                     "value": 1}, headers=basic(INGEST_AUTH))
    assert answer.status_code == 503 and "No space left" in answer.json["reason"]
    assert not [t for t, _, _ in app.link.published if t.startswith("sensors/")]
    assert app.extensions["counters"].snapshot()["ingest_refused_outbox_unavailable"] == 1
