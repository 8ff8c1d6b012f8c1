"""The writer and the message path without servers: a fake InfluxDB behind the `influx` seam,
a real spool in a temporary folder, a paho client that is never connected."""

import logging

import pytest

from listener.app import Listener
from listener.batcher import Batcher
from listener.config import read_settings
from listener.influx import DatabaseMissing, NotAuthorized, Unavailable
from listener.spool import Spool
from listener.stats import Stats
from listener.writer import RETRY_MAX, RETRY_MIN, Writer, WriterSettings
from service_common.config import ConfigError
from tests.support.listener_fakes import FakeInflux, message, recording_client


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Rig:
    """A Writer fed by a Batcher (batch size 2), acknowledging into `acks`."""

    def __init__(self, tmp_path, spool_bytes=1_000_000):
        self.settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                                       "INFLUXDB_USERNAME": "writer"})
        self.influx = FakeInflux()
        self.spool = Spool(self.settings.spool_dir, spool_bytes).open()
        self.stats = Stats()
        self.acks = []
        self.clock = Clock()
        self.batcher = Batcher(2, 0.5, 2, self._hand_off, 100)
        self.writer = Writer(WriterSettings.from_settings(self.settings), self.influx,
                             self.spool, self.batcher, self.stats, self.acks.extend,
                             lambda: True, clock=self.clock)
        self.mid = 0

    def _hand_off(self, batch):
        self.writer.hand_off(batch)

    def readings(self, *values):
        for value in values:
            self.mid += 1
            self.batcher.add(f"pot,device=d value={value} {value}", self.mid, qos=1)

    def step(self, after=0.0):
        self.clock.now += after
        self.writer.step(flush_now=True)


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


def values(lines):
    return [int(line.rsplit(" ", 1)[1]) for line in lines]


def test_batches_are_stored_in_order_and_acknowledged_after(rig):
    rig.readings(1, 2, 3)
    assert rig.acks == []
    rig.step()
    assert values(rig.influx.lines) == [1, 2, 3]
    assert rig.acks == [1, 2, 3]
    assert (rig.stats.stored, rig.stats.spooled, rig.batcher.held_points) == (3, 0, 0)


def test_influxdb_down_spools_acknowledges_then_drains_in_order(rig):
    rig.step()
    rig.influx.failure = Unavailable("cannot reach http://influx:8086: ConnectionError")
    rig.readings(1, 2, 3)
    rig.step()
    assert rig.acks == [1, 2, 3], "a spooled batch is durable: acknowledged"
    assert (rig.stats.spooled, rig.stats.retries, len(rig.spool)) == (3, 1, 2)
    rig.readings(4)
    rig.step()  # within the back-off: no attempt, spooled behind the others
    assert (rig.influx.attempts, rig.stats.spooled) == (1, 4)
    rig.influx.failure = None
    rig.readings(5)
    rig.step(after=RETRY_MIN)
    assert values(rig.influx.lines) == [1, 2, 3, 4, 5]
    assert (len(rig.spool), rig.stats.stored, rig.acks) == (0, 5, [1, 2, 3, 4, 5])


def test_points_influxdb_refuses_are_counted_not_stored(rig):
    rig.influx.refuse = 1
    rig.readings(1, 2)
    rig.step()
    assert (rig.stats.stored, rig.stats.influx_rejected, rig.acks) == (1, 1, [1, 2])


def test_not_authorized_is_named_once_counted_held_and_retried_with_capped_back_off(rig,
                                                                                      caplog):
    rig.step()
    rig.influx.failure = NotAuthorized('HTTP 403: "writer" user is not authorized to write')
    rig.readings(1, 2)
    with caplog.at_level(logging.WARNING, logger="listener.writer"):
        rig.step()
        for _ in range(8):
            rig.step(after=RETRY_MAX)
    assert rig.stats.not_authorized == rig.influx.attempts == 9
    assert rig.stats.spooled == 2 and rig.stats.stored == 0
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert "refuses user 'writer' (not authorized)" in record.getMessage()
    assert "INFLUXDB_PASSWORD" in record.getMessage()
    attempts = rig.influx.attempts
    rig.step(after=RETRY_MAX - 0.01)
    assert rig.influx.attempts == attempts, "the back-off is capped at RETRY_MAX, not shorter"
    rig.step(after=0.01)
    assert rig.influx.attempts == attempts + 1
    rig.influx.failure = None
    rig.step(after=RETRY_MAX)
    assert values(rig.influx.lines) == [1, 2] and rig.stats.stored == 2


def test_full_spool_holds_batches_unacknowledged_until_influxdb_is_back(tmp_path):
    rig = Rig(tmp_path, spool_bytes=50)  # room for one batch of two lines
    rig.step()
    rig.influx.failure = Unavailable("server error: timeout")
    rig.readings(1, 2, 3, 4, 5)
    rig.step()
    assert rig.acks == [1, 2], "only the spooled batch is acknowledged"
    assert rig.batcher.held_points == 3
    rig.influx.failure = None
    rig.step(after=RETRY_MIN)
    assert values(rig.influx.lines) == [1, 2, 3, 4, 5]
    assert rig.acks == [1, 2, 3, 4, 5] and rig.batcher.held_points == 0


def test_a_dropped_database_is_set_up_again(rig):
    rig.step()
    rig.influx.failure = DatabaseMissing("database not found: iot")
    rig.readings(1, 2)
    rig.step()
    assert not rig.writer.ready
    rig.influx.failure = None
    rig.step(after=RETRY_MIN)
    assert rig.writer.ready and values(rig.influx.lines) == [1, 2]


@pytest.mark.parametrize("database_there, ready", [(True, True), (False, False)])
def test_a_user_that_may_not_set_up_uses_an_existing_database(rig, database_there, ready):
    rig.influx.setup_failure = NotAuthorized("requires admin privilege")
    rig.influx.database_there = database_there
    rig.readings(1, 2)
    rig.step()
    assert rig.writer.ready is ready
    assert rig.stats.not_authorized == (0 if ready else 1)
    assert rig.acks == [1, 2], "stored, or spooled while the database is missing"


def test_message_path_parses_batches_stores_and_acknowledges_in_order(tmp_path):
    # Retention INF: the fixed ts of 2023 below stays inside the ts window.
    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                              "LISTENER_RETENTION": "INF"})
    influx = FakeInflux()
    listener = Listener(settings, influx=influx, spool=Spool(settings.spool_dir, 10_000).open(),
                        client_factory=recording_client)
    listener.handle_reading(message("sensors/d1/pot", b"42", 1))
    listener.handle_reading(message("sensors/d1/pot", b"hello", 2))  # rejected, still acked
    listener.handle_reading(message("sensors/d2/pot", b'{"value": 7, "ts": 1700000000000}', 3))
    listener.handle_reading(message("sensors/d3/pot", b"5", 4, retain=True))  # not stored
    listener.writer.step(flush_now=True)
    assert listener.client.acked == [1, 2, 3, 4]
    assert influx.lines[0].startswith("pot,device=d1 value=42.0 ")
    assert influx.lines[1:] == ["pot,device=d2 value=7.0 1700000000000000000"]
    rejected = listener.stats.rejected
    assert (listener.stats.received, rejected["not_a_number"], rejected["retained"]) == (4, 1, 1)


def test_broker_counters_come_on_their_own_clean_connection_never_in_the_readings_session(
        tmp_path):
    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool")})
    listener = Listener(settings, influx=FakeInflux(), spool=Spool(settings.spool_dir, 1),
                        client_factory=recording_client)
    assert not any(topic.startswith("$SYS") for topic, _ in listener.subscriptions)
    link = listener.broker_stats.client
    assert link._client_id == b"listener-stats" and link._clean_session
    assert link._will is False or not link._will_topic
    assert "broker_dropped" not in listener.stats.fields()
    sys_message = message("$SYS/broker/publish/messages/dropped", b"61", 0, qos=0, retain=True)
    link.on_message(link, None, sys_message)
    link.on_message(link, None, message("$SYS/broker/store/messages/bytes", b"x", 0, 0))
    fields = listener.stats.fields()
    assert fields["broker_dropped"] == 61 and "broker_store_bytes" not in fields
    assert listener.stats.received == 0, "not a reading"
    off = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                         "LISTENER_BROKER_STATS": "false"})
    quiet = Listener(off, influx=FakeInflux(), spool=Spool(off.spool_dir, 1),
                     client_factory=recording_client)
    assert quiet.broker_stats is None
    assert [topic for topic, _ in quiet.subscriptions] == ["sensors/+/+",
                                                           "alerts/_webhook/+/journal",
                                                           "journal/+"]


def test_the_statistics_connection_has_its_own_broker_user():
    settings = read_settings({"MQTT_USERNAME": "listener", "MQTT_PASSWORD": "a",
                              "LISTENER_CLIENT_ID": "listener",
                              "LISTENER_BROKER_STATS_PASSWORD": "b"})
    stats = settings.broker_stats_mqtt
    assert (stats.client_id, stats.username, stats.password) == ("listener-stats",
                                                                 "listener-stats", "b")
    with pytest.raises(ConfigError, match="LISTENER_BROKER_STATS_USERNAME must differ"):
        read_settings({"MQTT_USERNAME": "listener", "LISTENER_BROKER_STATS_USERNAME": "listener"})
    assert read_settings({"LISTENER_BROKER_STATS": "false"}).broker_stats_mqtt is None


def test_a_route_stores_its_own_lines_acknowledged_in_order_with_the_readings(tmp_path):
    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                              "LISTENER_BROKER_STATS": "false"})
    influx = FakeInflux()
    listener = Listener(settings, influx=influx, spool=Spool(settings.spool_dir, 10_000).open(),
                        client_factory=recording_client)
    listener.route("alerts/_webhook/+/journal", 1,
                   lambda m: listener.store_line(f'journal text="{m.payload.decode()}" 1', m))
    assert listener.subscriptions[-1] == ("alerts/_webhook/+/journal", 1)
    dispatch = listener.client._handle_on_message
    dispatch(message("sensors/d1/pot", b"1", 1))
    dispatch(message("alerts/_webhook/webhook/journal", b"x", 2))
    dispatch(message("sensors/d1/pot", b"2", 3))
    listener.writer.step(flush_now=True)
    assert listener.client.acked == [1, 2, 3]
    assert [line.split(" ")[0] for line in influx.lines] == ["pot,device=d1", "journal",
                                                             "pot,device=d1"]
    assert listener.stats.received == 2


def test_the_store_is_picked_from_the_url_and_its_setup_can_be_switched_off(tmp_path):
    from listener.influx import Influx
    from listener.store import MemoryStore, open_store

    settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                              "INFLUXDB_URL": "memory:", "LISTENER_STORE_SETUP": "false",
                              "LISTENER_BROKER_STATS": "false"})
    assert isinstance(open_store(settings.influx), MemoryStore)
    assert isinstance(open_store(read_settings({}).influx), Influx)
    listener = Listener(settings, spool=Spool(settings.spool_dir, 10_000).open(),
                        client_factory=recording_client)
    listener.handle_reading(message("sensors/d1/pot", b"42", 1))
    listener.writer.step(flush_now=True)
    store = listener.influx
    assert not store.prepared, "LISTENER_STORE_SETUP=false: no database set-up"
    assert [line.split(" ")[0] for line in store.lines] == ["pot,device=d1"]
    assert listener.client.acked == [1]
    with pytest.raises(ConfigError, match="INFLUXDB_URL"):
        read_settings({"INFLUXDB_URL": "ftp://x"})
