"""The shared reading rules (service_common.readings), one table per rule: every accepted form
and every bad input, the names, the ASCII-only numbers and the `ts` window."""

import pytest

from service_common.config import ConfigError, EnvReader
from service_common.readings import (
    KINDS,
    MAX_NAME_CHARS,
    RESERVED_MEASUREMENTS,
    TS_MAX_MS,
    TS_MIN_MS,
    ReadingRules,
    Rejection,
    decode_json,
    encode_payload,
    name_problem,
    parse_payload,
    read_reading_rules,
    reserved_name,
)

NOW = 1_800_000_000_000  # epoch ms, January 2027: the receiver's clock in these tests
TS = NOW - 60_000
DAY, WEEK = 86_400_000, 7 * 86_400_000
RULES = ReadingRules(ts_max_future_s=300, ts_max_age_s=30 * 86_400)

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
    ("seq at int64 limit", b'{"value": 1, "seq": 9223372036854775807}', (1.0, None, 2**63 - 1)),
    ("ts just inside the future horizon", b'{"value": 1, "ts": %d}' % (NOW + 300_000),
     (1.0, NOW + 300_000, None)),
    ("ts just inside the retention", b'{"value": 1, "ts": %d}' % (NOW - 30 * DAY),
     (1.0, NOW - 30 * DAY, None)),
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
    # issue 11: float() and \d accept these and they were stored as 42
    ("fullwidth digits", "４２".encode(), "not_a_number"),
    ("arabic-indic digits", "٤٢".encode(), "not_a_number"),
    ("devanagari digit in a decimal", "1.५".encode(), "not_a_number"),
    ("fullwidth exponent digit", "1e２".encode(), "not_a_number"),
    ("json fullwidth value", '{"value": ４２}'.encode(), "bad_json"),
    ("json arabic-indic ts", '{"value": 1, "ts": ١٧٠٠٠٠٠٠٠٠٠٠٠}'.encode(), "bad_json"),
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
    ("json ts bool", b'{"value": 1, "ts": true}', "bad_ts"),
    ("json ts in seconds", b'{"value": 1, "ts": 1700000000}', "bad_ts"),
    ("json ts after 2262", b'{"value": 1, "ts": 9999999999999}', "bad_ts"),
    ("ts just beyond the future horizon", b'{"value": 1, "ts": %d}' % (NOW + 300_001),
     "ts_in_future"),
    ("ts a day ahead", b'{"value": 1, "ts": %d}' % (NOW + DAY), "ts_in_future"),
    ("ts just beyond the retention", b'{"value": 1, "ts": %d}' % (NOW - 30 * DAY - 1),
     "ts_too_old"),
    ("oversized", b"1" * 1025, "too_large"),
]


@pytest.mark.parametrize("payload, expected", [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_accepted_payloads(payload, expected):
    assert parse_payload(payload, 1024, RULES, NOW) == expected


@pytest.mark.parametrize("payload, kind", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_rejected_payloads(payload, kind):
    result = parse_payload(payload, 1024, RULES, NOW)
    assert isinstance(result, Rejection)
    assert result.kind == kind
    assert result.detail


NAMES = [
    ("board id", "esp32-a1b2c3", None),
    ("space, comma, equals", "my dev,1=x", None),
    ("unicode letters", "température", None),
    ("longest", "d" * MAX_NAME_CHARS, None),
    ("empty", "", "is empty"),
    ("too long", "d" * (MAX_NAME_CHARS + 1), "longer than"),
    ("slash", "a/b", "contains '/'"),
    ("plus wildcard", "a+", "contains '+'"),
    ("hash wildcard", "#", "contains '#'"),
    ("backslash", "a\\", "contains '\\\\'"),
    ("newline", "a\nb", "contains '\\n'"),
    ("nul", "a\x00", "contains"),
    ("C1 control", "a\x85", "contains"),
    ("lone surrogate", "a\ud800", "contains"),
    ("noncharacter", "a\ufffe", "contains"),
    ("not a string", 42, "must be a string"),
    ("null", None, "must be a string"),
]


@pytest.mark.parametrize("name, problem", [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_names(name, problem):
    found = name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert problem in found


# A board writing these would land next to listener_stats or in the alarm journal's table.
MEASUREMENTS = [
    ("listener's health counters", "listener_stats", "reserved_name"),
    ("alarm journal", "alarm_journal", "reserved_name"),
    ("other case", "Listener_Stats", None),
    ("longer name", "listener_stats_2", None),
    ("ordinary", "pot", None),
]


@pytest.mark.parametrize("measurement, kind", [c[1:] for c in MEASUREMENTS],
                         ids=[c[0] for c in MEASUREMENTS])
def test_reserved_measurement_names(measurement, kind):
    found = reserved_name(measurement)
    assert (found and found.kind) == kind
    assert found is None or measurement in found.detail


def test_reserved_names_are_the_ones_the_listener_writes():
    from listener import events, journal, stats
    assert set(RESERVED_MEASUREMENTS) == {stats.MEASUREMENT, journal.MEASUREMENT,
                                          events.MEASUREMENT}


# issue 11: readings with ts a week apart up to 2262 each opened an InfluxDB shard, never expired.
FUTURE_WEEKS = range(NOW + WEEK, TS_MAX_MS + 1, WEEK)
PAST_WEEKS = range(NOW - 5 * WEEK, TS_MIN_MS - 1, -WEEK)


def test_ts_a_week_apart_up_to_2262_are_refused_as_in_the_future():
    kinds = {parse_payload(b'{"value": 1, "ts": %d}' % ts, 1024, RULES, NOW).kind
             for ts in FUTURE_WEEKS}
    assert len(FUTURE_WEEKS) > 12_000 and kinds == {"ts_in_future"}


def test_ts_a_week_apart_back_to_2000_are_refused_as_too_old():
    kinds = {parse_payload(b'{"value": 1, "ts": %d}' % ts, 1024, RULES, NOW).kind
             for ts in PAST_WEEKS}
    assert len(PAST_WEEKS) > 1_000 and kinds == {"ts_too_old"}


def test_without_limits_only_influxdb_range_counts():
    open_rules = ReadingRules(None, None)
    assert parse_payload(b'{"value": 1, "ts": %d}' % TS_MAX_MS, 64, open_rules, NOW)[1] == TS_MAX_MS
    assert parse_payload(b'{"value": 1, "ts": %d}' % TS_MIN_MS, 64, open_rules, NOW)[1] == TS_MIN_MS
    assert parse_payload(b'{"value": 1, "ts": %d}' % (TS_MIN_MS - 1), 64, open_rules,
                         NOW).kind == "bad_ts"


def test_json_nested_too_deeply_is_bad_json():
    text = '{"value": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert decode_json(text).kind == "bad_json"


def test_every_rejection_kind_is_tested():
    from tests.listener.test_parse import BAD_TOPICS
    tested = ({kind for _, _, kind in BAD} | {case[-1] for case in BAD_TOPICS}
              | {kind for _, _, kind in MEASUREMENTS if kind})
    assert tested == set(KINDS)


@pytest.mark.parametrize("value, ts, seq", [
    (42.0, None, None), (-0.5, NOW, None), (1e300, None, 2**63 - 1), (0.1, NOW - DAY, -7)])
def test_encoded_payload_reads_back_unchanged(value, ts, seq):
    assert parse_payload(encode_payload(value, ts, seq), 1024, RULES, NOW) == (value, ts, seq)


def test_largest_encoded_payload_fits_the_smallest_payload_limit_that_makes_sense():
    largest = encode_payload(-1.7976931348623157e308, TS_MAX_MS, -(2**63 - 1))
    assert len(largest) < 100


RULE_SETTINGS = [
    ({}, ReadingRules(300, 30 * 86_400)),
    ({"LISTENER_TS_MAX_FUTURE": "1h", "LISTENER_RETENTION": "520w"},
     ReadingRules(3600, 520 * 7 * 86_400)),
    ({"LISTENER_TS_MAX_FUTURE": "INF", "LISTENER_RETENTION": "INF"}, ReadingRules(None, None)),
    ({"LISTENER_TS_MAX_FUTURE": "90s"}, ReadingRules(90, 30 * 86_400)),
]


@pytest.mark.parametrize("environ, rules", RULE_SETTINGS)
def test_rules_from_the_environment(environ, rules):
    env = EnvReader(environ)
    assert read_reading_rules(env) == rules
    env.check()


@pytest.mark.parametrize("environ, problem", [
    ({"LISTENER_TS_MAX_FUTURE": "5 minutes"}, "LISTENER_TS_MAX_FUTURE='5 minutes' must be"),
    ({"LISTENER_TS_MAX_FUTURE": "0s"}, "at least 1s"),
    ({"LISTENER_TS_MAX_FUTURE": "５m"}, "LISTENER_TS_MAX_FUTURE"),
    ({"LISTENER_RETENTION": "30m"}, "must be at least 1h"),
])
def test_bad_rule_settings_are_named(environ, problem):
    env = EnvReader(environ)
    read_reading_rules(env)
    with pytest.raises(ConfigError, match=problem):
        env.check()


def test_defaults_have_one_home():
    assert ReadingRules() == read_reading_rules(EnvReader({}))
