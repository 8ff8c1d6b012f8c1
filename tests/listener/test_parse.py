"""Parsing one message into a Point or a Rejection: every accepted form and every bad input."""

import pytest

from listener.parse import KINDS, Parser, Point, Rejection, parse_payload, parse_topic

NOW = 1_800_000_000_000_000_000
TS = 1_700_000_000_123

GOOD = [
    ("integer", b"42", (42.0, None, None)),
    ("negative float", b"-3.5", (-3.5, None, None)),
    ("exponent", b"1.5e3", (1500.0, None, None)),
    ("leading dot", b".5", (0.5, None, None)),
    ("surrounding white space", b" 7\n", (7.0, None, None)),
    ("json value only", b'{"value": 42}', (42.0, None, None)),
    ("json float", b'{"value": 42.5}', (42.5, None, None)),
    ("json with ts", b'{"value": 1, "ts": %d}' % TS, (1.0, TS, None)),
    ("json with seq", b'{"value": 1, "seq": 7}', (1.0, None, 7)),
    ("json with ts and seq", b'{"value": 1, "ts": %d, "seq": 0}' % TS, (1.0, TS, 0)),
    ("json extra keys ignored", b'{"value": 2, "unit": "%"}', (2.0, None, None)),
    ("json null ts and seq", b'{"value": 2, "ts": null, "seq": null}', (2.0, None, None)),
    ("largest float", b"1.7e308", (1.7e308, None, None)),
]

BAD = [
    ("empty", b"", "empty"),
    ("only white space", b"  \n", "empty"),
    ("text", b"hello", "not_a_number"),
    ("number with unit", b"42V", "not_a_number"),
    ("python underscores", b"1_000", "not_a_number"),
    ("hex", b"0x10", "not_a_number"),
    ("json array", b"[1, 2]", "not_a_number"),
    ("json string", b'"42"', "not_a_number"),
    ("nan", b"NaN", "not_finite"),
    ("inf", b"inf", "not_finite"),
    ("minus infinity", b"-Infinity", "not_finite"),
    ("json nan", b'{"value": NaN}', "not_finite"),
    ("json infinity in ts", b'{"value": 1, "ts": Infinity}', "not_finite"),
    ("overflowing number", b"1e999", "out_of_range"),
    ("json overflowing float", b'{"value": 1e999}', "out_of_range"),
    ("json overflowing int", b'{"value": 1%s}' % (b"0" * 400), "out_of_range"),
    ("json seq beyond int64", b'{"value": 1, "seq": 9223372036854775808}', "out_of_range"),
    ("latin-1 bytes", b"\xb0C", "not_utf8"),
    ("truncated utf-8", b"4\xe2\x82", "not_utf8"),
    ("broken json", b'{"value": 1', "bad_json"),
    ("json trailing garbage", b'{"value": 1} x', "bad_json"),
    ("json without value", b'{"ts": 1}', "wrong_shape"),
    ("json value as text", b'{"value": "1"}', "wrong_shape"),
    ("json value null", b'{"value": null}', "wrong_shape"),
    ("json value bool", b'{"value": true}', "wrong_shape"),
    ("json value object", b'{"value": {"v": 1}}', "wrong_shape"),
    ("json seq float", b'{"value": 1, "seq": 1.5}', "wrong_shape"),
    ("json seq bool", b'{"value": 1, "seq": false}', "wrong_shape"),
    ("json ts float", b'{"value": 1, "ts": 1700000000000.5}', "bad_ts"),
    ("json ts text", b'{"value": 1, "ts": "now"}', "bad_ts"),
    ("json ts in seconds", b'{"value": 1, "ts": 1700000000}', "bad_ts"),
    ("json ts after 2262", b'{"value": 1, "ts": 9999999999999}', "bad_ts"),
    ("oversized", b"1" * 1025, "too_large"),
]


@pytest.mark.parametrize("payload, expected", [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_accepted_payloads(payload, expected):
    assert parse_payload(payload, 1024) == expected


@pytest.mark.parametrize("payload, kind", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_rejected_payloads(payload, kind):
    result = parse_payload(payload, 1024)
    assert isinstance(result, Rejection)
    assert result.kind == kind
    assert result.detail


def test_every_rejection_kind_is_tested():
    tested = {kind for _, _, kind in BAD} | {case[-1] for case in BAD_TOPICS}
    assert tested == set(KINDS)


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
    ("empty device", "sensors", "sensors//pot", "bad_topic"),
    ("empty measurement", "sensors", "sensors/a/", "bad_topic"),
    ("newline", "sensors", "sensors/a\n/pot", "bad_topic"),
    ("backslash", "sensors", "sensors/a\\/pot", "bad_topic"),
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
    parser = Parser()
    assert parser.parse("sensors/d/pot", b"1", NOW) == Point("pot", "d", 1.0, None, NOW)
    with_ts = parser.parse("sensors/d/pot", b'{"value": 2, "ts": %d, "seq": 3}' % TS, NOW)
    assert with_ts == Point("pot", "d", 2.0, 3, TS * 1_000_000)


def test_payload_limit_is_configurable():
    parser = Parser(max_payload_bytes=16)
    assert parser.parse("sensors/d/pot", b"1" * 16, NOW).value == 1111111111111111.0
    assert parser.parse("sensors/d/pot", b"1" * 17, NOW).kind == "too_large"
