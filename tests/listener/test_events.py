"""The event journal (service_common.events) stored by the listener: only entries whose source
is the topic's sender, through the readings' at-least-once path."""

import time

from devstack.wait import wait_until
from listener.app import Listener
from listener.config import read_settings
from listener.events import line
from listener.spool import Spool
from service_common import events
from tests.support.influx import points, wait_count
from tests.support.listener_fakes import FakeInflux, message, recording_client

EVENT = events.Event(1_700_000_000_000, 3, "actions", "override", "shed-fan", "alice",
                     'hand on "until" 14:00')


def test_an_event_is_one_line_at_ts_plus_n_with_tags_and_string_fields():
    assert line("journal/actions", events.encode(EVENT), 4096) == (
        'event_journal,kind=override,source=actions,subject=shed-fan '
        'by="alice",text="hand on \\"until\\" 14:00" 1700000000000000003')
    nobody = line("journal/actions", events.encode(EVENT._replace(by=None)), 4096)
    assert ' text="' in nobody and "by=" not in nobody


def test_an_event_whose_source_is_not_its_sender_is_refused_and_counted(tmp_path):
    assert line("journal/console", events.encode(EVENT), 4096).kind == "forged_source"
    assert line("journal/actions", b"{", 4096).kind == "bad_json"
    assert line("journal/actions", events.encode(EVENT._replace(subject="a\nb")),
                4096).kind == "wrong_shape"
    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                              "LISTENER_BROKER_STATS": "false"})
    influx = FakeInflux()
    listener = Listener(settings, influx=influx, spool=Spool(settings.spool_dir, 10_000).open(),
                        client_factory=recording_client)
    assert ("journal/+", 1) in listener.subscriptions
    dispatch = listener.client._handle_on_message
    dispatch(message("journal/actions", events.encode(EVENT), 1))
    dispatch(message("journal/console", events.encode(EVENT), 2))
    dispatch(message("sensors/d1/pot", b"1", 3))
    listener.writer.step(flush_now=True)
    assert listener.client.acked == [1, 2, 3]
    assert [x.split(",")[0] for x in influx.lines] == ["event_journal", "pot"]
    assert listener.stats.rejected["forged_source"] == 1


def test_events_from_the_broker_are_stored(listener, publisher, db):
    recent = EVENT._replace(ts=int(time.time() * 1000) - 60_000)  # inside the retention
    publisher.publish("journal/actions", events.encode(recent))
    publisher.publish("journal/console", events.encode(recent))  # forged: refused
    publisher.publish("sensors/d1/pot", b"1")
    wait_count(db, 1, service=listener)

    def stored():  # whole rows: a query can meet InfluxDB while it applies a write's fields
        return [(r["source"], r["kind"], r["by"])
                for r in points(db, "SELECT * FROM event_journal")]

    expected = [("actions", "override", "alice")]
    try:
        wait_until(lambda: stored() == expected, 30, interval=0.2)
    except TimeoutError:
        raise AssertionError(f"event journal {stored()} != {expected}") from None
