"""Pure pieces: line protocol, the batcher's flush rules, the spool, stats and the settings."""

import pytest

from listener.batcher import Batcher
from listener.config import duration_seconds, read_settings, topic_filter_problem
from listener.line_protocol import Encoder, encode_fields
from listener.measurement_cap import MeasurementCap
from listener.parse import Point
from listener.spool import Spool
from listener.stats import Stats
from service_common.config import ConfigError

LINES = [
    ("plain", Point("pot", "esp32-a1", 42.0, None, 5), "pot,device=esp32-a1 value=42.0 5"),
    ("with seq", Point("pot", "d", -3.5, 7, 9), "pot,device=d value=-3.5,seq=7i 9"),
    ("exponent", Point("pot", "d", 1e20, None, 1), "pot,device=d value=1e+20 1"),
    ("escaped", Point("a b,c", "x=y z,", 1.0, None, 1), r"a\ b\,c,device=x\=y\ z\, value=1.0 1"),
]


@pytest.mark.parametrize("point, line", [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_line_protocol(point, line):
    assert Encoder().encode(point) == line


def test_fields_line_types():
    line = encode_fields("listener_stats", {"client_id": "l 1"}, {"n": 3, "lag": 1.5}, 10)
    assert line == r"listener_stats,client_id=l\ 1 n=3i,lag=1.5 10"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def handed():
    return []


def make_batcher(handed, batch_size=3, flush_interval=0.5, max_unacked=2):
    return Batcher(batch_size, flush_interval, max_unacked, handed.append, 1000)


def test_batch_handed_off_when_full(handed):
    batcher = make_batcher(handed)
    for i in range(3):
        batcher.add(f"l{i}")
    assert [b.lines for b in handed] == [["l0", "l1", "l2"]]
    assert batcher.held_points == 3
    batcher.finished(3)
    assert batcher.held_points == 0


def test_batch_handed_off_when_unacked_window_is_used_up(handed):
    batcher = make_batcher(handed, batch_size=100, max_unacked=2)
    batcher.add("a", mid=1, qos=1)
    batcher.add(None, mid=2, qos=1)  # a rejected QoS 1 message: no line, still acknowledged
    assert [(b.lines, b.acks) for b in handed] == [(["a"], [1, 2])]


def test_flush_due_after_flush_interval_or_stall(monkeypatch, handed):
    clock = Clock()
    monkeypatch.setattr("listener.batcher.time.monotonic", clock)
    batcher = make_batcher(handed, batch_size=100, max_unacked=100)
    batcher.add("qos0")
    assert not batcher.flush_due()
    clock.now += 0.5
    assert batcher.flush_due()
    batcher.add("qos1", mid=5, qos=1)
    clock.now += 0.01
    assert not batcher.flush_due()
    clock.now += batcher.stall_after
    assert batcher.flush_due()
    assert not batcher.flush_due(force=True)
    assert [(b.lines, b.acks) for b in handed] == [(["qos0"], []), (["qos1"], [5])]


def test_overload_after_max_held_points(handed):
    batcher = Batcher(1, 0.5, 10, handed.append, max_held_points=2)
    batcher.add("a")
    assert not batcher.overloaded()
    batcher.add("b")
    assert batcher.overloaded()


def test_spool_is_fifo_bounded_and_survives_reopening(tmp_path):
    spool = Spool(tmp_path, max_bytes=20).open()
    assert spool.append(b"a 1\nb 2\n", 2)
    assert spool.append(b"c 3\n", 1)
    assert not spool.append(b"x" * 20, 1)  # would exceed the limit: refused, nothing written
    (tmp_path / "0000000000000099.tmp").write_bytes(b"half-written")
    (tmp_path / ".0000000000000099.lp-x1y2.tmp").write_bytes(b"half-written")

    reopened = Spool(tmp_path, max_bytes=20).open()
    assert (len(reopened), reopened.points, reopened.bytes) == (2, 3, 12)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))
    assert reopened.head()[:2] == (b"a 1\nb 2\n", 2)
    reopened.pop()
    assert reopened.head()[:2] == (b"c 3\n", 1)
    assert reopened.append(b"d 4\n", 1)
    reopened.pop()
    assert reopened.head()[:2] == (b"d 4\n", 1)


def test_files_in_the_spool_folder_not_named_like_a_batch_are_skipped_with_one_warning(
        tmp_path, caplog):
    spool = Spool(tmp_path, max_bytes=100).open()
    assert spool.append(b"a 1\n", 1)
    for name in ("notes.lp", "backup copy.lp", "\uff11\uff12.lp"):  # the last: fullwidth digits
        (tmp_path / name).write_bytes(b"not line protocol\n")
    (tmp_path / "7.lp").mkdir()

    reopened = Spool(tmp_path, max_bytes=100).open()
    assert (len(reopened), reopened.points) == (1, 1)
    assert reopened.head()[:2] == (b"a 1\n", 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    for name in ("notes.lp", "backup copy.lp", "\uff11\uff12.lp", "7.lp"):
        assert name in warnings[0]
    assert reopened.append(b"b 2\n", 1)  # numbering goes on after the batch it loaded
    assert sorted(p.name for p in tmp_path.glob("0*.lp"))[-1] == "0000000000000002.lp"
    assert (tmp_path / "notes.lp").exists()


def test_a_device_writes_at_most_its_cap_of_measurement_names():
    cap = MeasurementCap(per_device=3)
    assert [cap.admit("rogue", f"m{i}") for i in range(3)] == [None] * 3
    refused = cap.admit("rogue", "m3")
    assert refused.kind == "too_many_measurements" and "'rogue'" in refused.detail
    assert cap.admit("rogue", "m1") is None  # the names it already writes go on
    assert cap.admit("other", "m3") is None  # other devices have their own cap
    assert cap.admit("rogue", "m4").kind == "too_many_measurements"


def test_measurement_names_remembered_are_bounded_without_forgetting_the_busy_devices(caplog):
    cap = MeasurementCap(per_device=2, max_tracked=4)
    for device in ("a", "b"):
        assert cap.admit(device, "x") is None and cap.admit(device, "y") is None
    assert cap.admit("a", "z").kind == "too_many_measurements"  # a is now the most recent
    assert cap.admit("c", "x") is None  # a new board is admitted: b, quiet longest, goes
    assert cap._tracked == 3 and cap.forgotten == 1 and "forgot device 'b'" in caplog.text
    # The busy device was not forgotten: its cap still holds (before: everything was
    # forgotten at the bound, and a device could start again with a fresh cap).
    assert cap.admit("a", "z").kind == "too_many_measurements"
    for i in range(100):  # a flood of new devices never pushes the memory past the bound
        cap.admit(f"flood-{i}", "x")
        cap.admit("a", "x")  # a keeps writing
        assert cap._tracked <= 4
    assert cap.admit("a", "z").kind == "too_many_measurements"


def test_stats_line_has_every_kind_and_logs_each_kind_once(caplog):
    stats = Stats()
    stats.received = 3
    stats.reject("empty", "sensors/a/pot", "empty payload")
    stats.reject("empty", "sensors/b/pot", "empty payload")
    line = stats.line("listener", 1)
    assert line.startswith("listener_stats,client_id=listener received=3i,")
    assert "rejected_empty=2i" in line and "rejected_bad_json=0i" in line
    assert "rejected=2i" in line
    stats.log_rejections(5)
    stats.log_rejections(5)
    assert [r.getMessage() for r in caplog.records] == [
        "rejected 2 empty payloads in the last 5 s, latest on 'sensors/b/pot': empty payload"]


BAD_SETTINGS = [
    ("port", {"MQTT_PORT": "x"}, "MQTT_PORT='x' is not a valid int"),
    ("qos", {"LISTENER_QOS": "2"}, "LISTENER_QOS='2' must be at most 1"),
    ("batch", {"LISTENER_BATCH_SIZE": "0"}, "LISTENER_BATCH_SIZE='0' must be at least 1"),
    ("flush", {"LISTENER_FLUSH_INTERVAL": "soon"}, "LISTENER_FLUSH_INTERVAL='soon' is not"),
    ("url", {"INFLUXDB_URL": "localhost:8086"}, "INFLUXDB_URL='localhost:8086' must look"),
    ("url port", {"INFLUXDB_URL": "http://h:99999"}, "has an invalid port"),
    ("database", {"INFLUXDB_DATABASE": 'a"b'}, "INFLUXDB_DATABASE='a\"b' must use only"),
    ("password alone", {"INFLUXDB_PASSWORD": "p"}, "INFLUXDB_PASSWORD is set but"),
    ("topic", {"LISTENER_TOPICS": "sensors/a+/#"}, "'+' must be a whole level"),
    ("share", {"LISTENER_TOPICS": "$share/g"}, "$share/<group>/<filter>"),
    ("retention", {"LISTENER_RETENTION": "30 days"}, "LISTENER_RETENTION='30 days' must be"),
    ("short retention", {"LISTENER_RETENTION": "10m"}, "must be at least 1h"),
    ("interval", {"LISTENER_DOWNSAMPLE_INTERVAL": "1x"}, "LISTENER_DOWNSAMPLE_INTERVAL='1x'"),
    ("spool", {"LISTENER_SPOOL_MAX_MB": "0"}, "LISTENER_SPOOL_MAX_MB='0' must be at least 0.01"),
    ("log level", {"LISTENER_LOG_LEVEL": "loud"}, "LISTENER_LOG_LEVEL='LOUD' must be one of"),
    ("measurement cap", {"LISTENER_MAX_MEASUREMENTS_PER_DEVICE": "0"},
     "LISTENER_MAX_MEASUREMENTS_PER_DEVICE='0' must be"),
]


@pytest.mark.parametrize("environ, problem", [c[1:] for c in BAD_SETTINGS],
                         ids=[c[0] for c in BAD_SETTINGS])
def test_bad_setting_is_named(environ, problem):
    with pytest.raises(ConfigError) as error:
        read_settings(environ)
    assert any(problem in p for p in error.value.problems), error.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        read_settings({name: value for _, environ, _ in BAD_SETTINGS
                       for name, value in environ.items()})
    assert len(error.value.problems) >= 12


def test_defaults_and_env_example_values():
    settings = read_settings({})
    assert settings.topics == ("sensors/+/+",)
    assert (settings.qos, settings.batch_size, settings.flush_interval) == (1, 5000, 0.5)
    assert settings.downsample_interval == "1m"
    assert settings.spool_max_bytes == 100 * 2**20
    assert settings.influx.username is None and settings.influx.password is None
    assert read_settings({"MQTT_SENSORS_ROOT": "/pot"}).topics == ("/pot/+/+",)
    assert read_settings({"LISTENER_DOWNSAMPLE_INTERVAL": ""}).downsample_interval is None
    several = read_settings({"LISTENER_TOPICS": "a/+/+, $share/g/b/+/+"})
    assert several.topics == ("a/+/+", "$share/g/b/+/+")
    assert read_settings({"INFLUXDB_URL": "https://db.example:8087/influx"}).influx.parts == \
        ("db.example", 8087, True, "/influx")


@pytest.mark.parametrize("text, seconds", [("30d", 2592000), ("1h30m", 5400), ("INF", None)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("topic", ["sensors/+/+", "#", "$share/g/sensors/#", "a/+/b/#"])
def test_valid_topic_filters(topic):
    assert topic_filter_problem(topic) is None


def test_a_batch_of_pubacks_is_one_queued_packet_in_order():
    from listener.acks import puback_bytes, send_pubacks

    assert puback_bytes([1, 258, 65535]) == b"\x40\x02\x00\x01\x40\x02\x01\x02\x40\x02\xff\xff"

    class Client:
        queued = []

        def _packet_queue(self, command, packet, mid, qos, info=None):
            self.queued.append((command, packet))

    client = Client()
    send_pubacks(client, [7, 8])
    send_pubacks(client, [])
    assert client.queued == [(0x40, b"\x40\x02\x00\x07\x40\x02\x00\x08")]


def test_seq_gaps_count_missing_readings_per_device_not_repeats_nor_restarts():
    from listener.seq_gaps import MAX_GAP, SeqGaps

    gaps = SeqGaps(max_devices=2)
    for seq in (1, 2, 3, 6, 7, 7, 5, 8):  # 4 and 5 missing; 7 repeated; 5 late
        gaps.see("a", seq)
    gaps.see("b", 100)
    gaps.see("b", 102)
    assert (gaps.gaps, gaps.restarts) == (3, 0)
    gaps.see("a", 0)                 # the board restarted
    gaps.see("a", 1)
    gaps.see("b", 102 + MAX_GAP + 5)  # a new counter, not ten thousand lost readings
    assert (gaps.gaps, gaps.restarts) == (3, 2)
    gaps.see("c", 1)                 # beyond max_devices: not followed, the others still are
    gaps.see("c", 5)
    gaps.see("a", 3)
    assert (gaps.gaps, gaps.untracked) == (4, 2)


def test_a_shared_subscription_member_counts_no_seq_gaps(tmp_path):
    from listener.app import Listener
    from listener.config import read_settings
    from listener.spool import Spool
    from tests.support.listener_fakes import FakeInflux, message, recording_client

    for topics, gaps in (("sensors/+/+", 2), ("$share/g/sensors/+/+", 0)):
        settings = read_settings({"LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
                                  "LISTENER_TOPICS": topics, "LISTENER_BROKER_STATS": "false"})
        listener = Listener(settings, influx=FakeInflux(), spool=Spool(settings.spool_dir, 1),
                            client_factory=recording_client)
        for mid, seq in enumerate((1, 4), start=1):
            listener.handle_reading(message("sensors/d/pot", b'{"value": 1, "seq": %d}' % seq,
                                            mid))
        assert listener.stats.seq.gaps == gaps
