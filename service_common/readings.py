"""The rules a reading must follow, over MQTT (the listener) and over HTTP (`POST /ingest`).

A reading is a device name, a measurement name, a finite number, and optionally `ts` (epoch
milliseconds) and `seq` (a 64-bit integer). Every check returns a Rejection naming its kind;
KINDS lists them all, and each is counted on its own.
"""

import json
import math
import re
from dataclasses import dataclass, replace
from typing import NamedTuple

from service_common import events, journal
from service_common.config import DURATION, duration_seconds, retention_problem

# Every kind of rejection, in the order the checks run; the listener counts rejected_<kind>.
KINDS = (
    "bad_topic",     # not <root>/<device>/<measurement>
    "bad_name",      # a device or measurement name breaking NAME_RULES
    "reserved_name",  # a measurement the listener writes itself (RESERVED_MEASUREMENTS)
    "too_large",     # a payload longer than LISTENER_MAX_PAYLOAD_BYTES
    "empty",         # nothing but white space
    "not_utf8",      # bytes that are not UTF-8
    "not_a_number",  # text that is neither a number (ASCII digits) nor a JSON object
    "not_finite",    # NaN or +-Infinity, as text or in JSON
    "out_of_range",  # a value beyond the float range, or a seq beyond 64-bit integers
    "bad_json",      # starts like a JSON object but does not parse (non-ASCII digits included)
    "wrong_shape",   # valid JSON of the wrong shape or types (no "value", value not a number...)
    "bad_ts",        # ts not an integer, or outside 2000-01-01 .. 2262-04-11 (InfluxDB's limit)
    "ts_in_future",  # ts further ahead of the receiver's clock than LISTENER_TS_MAX_FUTURE
    "ts_too_old",    # ts older than LISTENER_RETENTION: InfluxDB would drop it
)

MAX_NAME_CHARS = 128
NAME_RULES = (f"1 to {MAX_NAME_CHARS} characters, none of / + # \\, no control characters "
              "and no Unicode noncharacters")
TS_MIN_MS = 946_684_800_000          # 2000-01-01: earlier means a board without a clock
TS_MAX_MS = 9_223_372_036_854 - 1    # InfluxDB stores int64 nanoseconds
INT64_MAX = 2**63 - 1
DEFAULT_TS_MAX_FUTURE = "5m"
DEFAULT_RETENTION = "30d"
# Measurements the listener writes itself: a reading under one of these names would land among
# the listener's health counters or in the alarm journal.
LISTENER_STATS = "listener_stats"
RESERVED_MEASUREMENTS = (LISTENER_STATS, journal.MEASUREMENT, events.MEASUREMENT)

# ASCII digits only: `\d` and float() also take fullwidth and Arabic-Indic digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = {"nan", "inf", "infinity"}
# Topic separators and wildcards, backslash (InfluxDB's escape character), control characters,
# UTF-16 surrogates and Unicode noncharacters (mosquitto drops a client whose topic has them).
_BAD_NAME_CHARS = re.compile("[/+#\\\\\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


class Rejection(NamedTuple):
    kind: str
    detail: str


@dataclass(frozen=True)
class ReadingRules:
    """How far from the receiver's clock a `ts` may be; None means no limit."""

    ts_max_future_s: float | None = duration_seconds(DEFAULT_TS_MAX_FUTURE)
    ts_max_age_s: float | None = duration_seconds(DEFAULT_RETENTION)


def read_reading_rules(env):
    """ReadingRules from LISTENER_TS_MAX_FUTURE and LISTENER_RETENTION (problems go to `env`)."""
    future = env.str("LISTENER_TS_MAX_FUTURE", DEFAULT_TS_MAX_FUTURE)
    retention = env.str("LISTENER_RETENTION", DEFAULT_RETENTION)
    rules = ReadingRules()
    if DURATION.match(future) and (future == "INF" or duration_seconds(future) >= 1):
        rules = replace(rules, ts_max_future_s=duration_seconds(future))
    else:
        env.problems.append(f"LISTENER_TS_MAX_FUTURE={future!r} must be a duration of at least "
                            "1s such as 5m, or INF for no limit")
    problem = retention_problem("LISTENER_RETENTION", retention)
    if problem:
        env.problems.append(problem)
    else:
        rules = replace(rules, ts_max_age_s=duration_seconds(retention))
    return rules


class _NonFinite(ValueError):
    pass


def _reject_constant(name):
    raise _NonFinite(name)


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_scan_once = _decoder.scan_once


def name_problem(name):
    """Why `name` cannot be a device or measurement name (a topic level), or None."""
    if not isinstance(name, str):
        return f"must be a string, not {name!r:.40}"
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    bad = _BAD_NAME_CHARS.search(name)
    if bad:
        return f"contains {bad.group()!r} ({NAME_RULES})"
    return None


def reserved_name(measurement):
    """A Rejection when `measurement` is one the listener writes itself, else None."""
    if measurement in RESERVED_MEASUREMENTS:
        return Rejection("reserved_name", f"the measurement name {measurement!r} is reserved "
                         f"for the listener's own data ({', '.join(RESERVED_MEASUREMENTS)})")
    return None


def decode_json(text):
    """The JSON document in `text` (NaN and Infinity refused), or a Rejection."""
    try:
        # The C scanner alone when nothing surrounds the document (a reading's usual payload);
        # for anything else decode() says what is wrong, or skips the white space.
        try:
            document, end = _scan_once(text, 0)
        except (StopIteration, json.JSONDecodeError):
            end = None
        return document if end == len(text) else _decoder.decode(text)
    except _NonFinite as error:
        return Rejection("not_finite", f"{error} is not a finite number")
    except ValueError as error:  # json.JSONDecodeError, or an integer too long to convert
        return Rejection("bad_json", str(error))
    except RecursionError:
        return Rejection("bad_json", "nested too deeply")


def parse_number(text):
    """The float written in `text` (ASCII digits, white space around allowed), or a Rejection."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            return Rejection("out_of_range", f"{text[:40]!r} is beyond the float range")
        return value
    if text.lstrip("+-").lower() in _NON_FINITE:
        return Rejection("not_finite", f"{text[:40]!r} is not a finite number")
    return Rejection("not_a_number", f"{text[:40]!r} is not a number")


def reading_fields(document, rules, now_ms):
    """(value, ts_ms or None, seq or None) from a decoded JSON object, or a Rejection."""
    if not isinstance(document, dict):
        return Rejection("wrong_shape", "a reading must be a JSON object with a \"value\"")
    value = document.get("value")
    if type(value) not in (int, float):  # bool is an int subclass: refuse it explicitly
        return Rejection("wrong_shape", f"\"value\" must be a number, not {value!r:.40}")
    try:
        value = float(value)
    except OverflowError:
        return Rejection("out_of_range", "\"value\" is beyond the float range")
    if math.isinf(value):
        return Rejection("out_of_range", "\"value\" is beyond the float range")
    if math.isnan(value):  # only a decoder other than decode_json lets NaN through
        return Rejection("not_finite", "\"value\" is NaN")
    ts = document.get("ts")
    if ts is not None:
        problem = ts_problem(ts, rules, now_ms)
        if problem:
            return problem
    seq = document.get("seq")
    if seq is not None:
        if type(seq) is not int:
            return Rejection("wrong_shape", f"\"seq\" must be an integer, not {seq!r:.40}")
        if not -INT64_MAX <= seq <= INT64_MAX:
            return Rejection("out_of_range", "\"seq\" is beyond 64-bit integers")
    return value, ts, seq


def ts_problem(ts, rules, now_ms):
    """A Rejection when `ts` is no epoch-ms integer inside the window `rules` allow, else None."""
    if type(ts) is not int or not TS_MIN_MS <= ts <= TS_MAX_MS:
        return Rejection("bad_ts", f"\"ts\" must be epoch milliseconds, not {ts!r:.40}")
    if rules.ts_max_future_s is not None and ts > now_ms + rules.ts_max_future_s * 1000:
        return Rejection("ts_in_future", f"\"ts\" {ts} is {(ts - now_ms) / 1000:.0f} s ahead of "
                         f"the receiver's clock (LISTENER_TS_MAX_FUTURE allows "
                         f"{rules.ts_max_future_s:g} s)")
    if rules.ts_max_age_s is not None and ts < now_ms - rules.ts_max_age_s * 1000:
        return Rejection("ts_too_old", f"\"ts\" {ts} is older than LISTENER_RETENTION "
                         f"({rules.ts_max_age_s:g} s): InfluxDB would drop it")
    return None


def parse_payload(payload, max_bytes, rules, now_ms):
    """(value, ts_ms or None, seq or None) from an MQTT payload's bytes, or a Rejection.

    A payload is a plain number (`42`, `-3.5`) or JSON `{"value": <number>, "ts": <epoch ms>,
    "seq": <int>}` with `ts` and `seq` optional.
    """
    if len(payload) > max_bytes:
        return Rejection("too_large", f"{len(payload)} bytes, more than {max_bytes}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        return Rejection("not_utf8", str(error))
    if not text:
        return Rejection("empty", "empty payload")
    if text[0] == "{":
        document = decode_json(text)
        if type(document) is Rejection:
            return document
        return reading_fields(document, rules, now_ms)
    value = parse_number(text)
    return value if type(value) is Rejection else (value, None, None)


def encode_payload(value, ts=None, seq=None):
    """The MQTT payload for a checked reading: what parse_payload reads back unchanged."""
    fields = {"value": value}
    if ts is not None:
        fields["ts"] = ts
    if seq is not None:
        fields["seq"] = seq
    return json.dumps(fields, separators=(",", ":")).encode()
