"""Parsing one MQTT message into a Point or a Rejection: topics and the Parser (the payload and
name rules themselves are tested in tests/ingest/test_readings.py)."""

import pytest

from listener.parse import Parser, Point, Rejection, parse_topic
from service_common.readings import ReadingRules

NOW = 1_800_000_000_000_000_000
TS = 1_700_000_000_123

TOPICS = [
    ("default root", "sensors", "sensors/esp32-a1b2c3/pot", ("pot", "esp32-a1b2c3")),
    ("leading slash root", "/pot", "/pot/esp32/pot", ("pot", "esp32")),
    ("deep root", "home/lab/sensors", "home/lab/sensors/d1/temp", ("temp", "d1")),
    ("space and comma in names", "sensors", "sensors/my dev,1/pot=x", ("pot=x", "my dev,1")),
]

BAD_TOPICS = [
    ("too few levels", "sensors", "sensors/pot", "bad_topic"),
    ("too many levels", "sensors", "sensors/a/b/pot", "bad_topic"),
    ("other root", "sensors", "other/a/pot", "bad_topic"),
    ("root without leading slash", "/pot", "pot/a/pot", "bad_topic"),
    ("empty device", "sensors", "sensors//pot", "bad_name"),
    ("empty measurement", "sensors", "sensors/a/", "bad_name"),
    ("newline", "sensors", "sensors/a\n/pot", "bad_name"),
    ("backslash", "sensors", "sensors/a\\/pot", "bad_name"),
    ("long device", "sensors", "sensors/" + "d" * 129 + "/pot", "bad_name"),
    ("C1 control in measurement", "sensors", "sensors/a/pot\x85", "bad_name"),
    ("listener's own measurement", "sensors", "sensors/a/listener_stats", "reserved_name"),
    ("alarm journal measurement", "sensors", "sensors/a/alarm_journal", "reserved_name"),
]


@pytest.mark.parametrize("root, topic, expected", [c[1:] for c in TOPICS],
                         ids=[c[0] for c in TOPICS])
def test_topics(root, topic, expected):
    assert parse_topic(topic, root.split("/")) == expected


@pytest.mark.parametrize("root, topic, kind", [c[1:] for c in BAD_TOPICS],
                         ids=[c[0] for c in BAD_TOPICS])
def test_bad_topics(root, topic, kind):
    result = Parser(root).parse(topic, b"1", NOW)
    assert isinstance(result, Rejection) and result.kind == kind


def test_point_time_is_ts_when_given_else_receive_time():
    parser = Parser(rules=ReadingRules(None, None))
    assert parser.parse("sensors/d/pot", b"1", NOW) == Point("pot", "d", 1.0, None, NOW)
    with_ts = parser.parse("sensors/d/pot", b'{"value": 2, "ts": %d, "seq": 3}' % TS, NOW)
    assert with_ts == Point("pot", "d", 2.0, 3, TS * 1_000_000)


def test_payload_limit_is_configurable():
    parser = Parser(max_payload_bytes=16)
    assert parser.parse("sensors/d/pot", b"1" * 16, NOW).value == 1111111111111111.0
    assert parser.parse("sensors/d/pot", b"1" * 17, NOW).kind == "too_large"
