"""Pure parsing of one MQTT message into a Point, or a Rejection saying why not.

Accepted payloads: a plain number (`42`, `-3.5`) or JSON `{"value": <number>, "ts": <epoch ms>,
"seq": <int>}` with `ts` and `seq` optional. The topic is `<sensors root>/<device>/<measurement>`.
"""

import json
import math
import re
from typing import NamedTuple, Optional

# Every kind of rejection, in the order the checks run; each is counted as rejected_<kind>.
KINDS = (
    "bad_topic",     # not <root>/<device>/<measurement>, an empty level, or a control character
    "too_large",     # longer than LISTENER_MAX_PAYLOAD_BYTES
    "empty",         # nothing but white space
    "not_utf8",      # bytes that are not UTF-8
    "not_a_number",  # text that is neither a number nor a JSON object
    "not_finite",    # NaN or +-Infinity, as text or in JSON
    "out_of_range",  # a value beyond the float range, or a seq beyond 64-bit integers
    "bad_json",      # starts like a JSON object but does not parse
    "wrong_shape",   # valid JSON of the wrong shape or types (no "value", value not a number...)
    "bad_ts",        # ts not an integer, or outside 2000-01-01 .. 2262-04-11 (InfluxDB's limit)
)

TS_MIN_MS = 946_684_800_000          # 2000-01-01: earlier means a board without a clock
TS_MAX_MS = 9_223_372_036_854 - 1    # InfluxDB stores int64 nanoseconds
INT64_MAX = 2**63 - 1

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = {"nan", "inf", "infinity"}
_BAD_TOPIC_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class Point(NamedTuple):
    measurement: str
    device: str
    value: float
    seq: Optional[int]
    time_ns: int


class Rejection(NamedTuple):
    kind: str
    detail: str


class _NonFinite(ValueError):
    pass


def _reject_constant(name):
    raise _NonFinite(name)


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def parse_topic(topic, root_levels):
    """(measurement, device) from `<root>/<device>/<measurement>`, or a Rejection."""
    levels = topic.split("/")
    if len(levels) != len(root_levels) + 2 or levels[:len(root_levels)] != root_levels:
        return Rejection("bad_topic", f"topic {topic!r} is not <root>/<device>/<measurement>")
    device, measurement = levels[-2], levels[-1]
    if not device or not measurement or _BAD_TOPIC_CHARS.search(topic):
        return Rejection("bad_topic", f"topic {topic!r} has an empty level or a control character")
    return measurement, device


def parse_payload(payload, max_bytes):
    """(value, ts_ms or None, seq or None) from the payload bytes, or a Rejection."""
    if len(payload) > max_bytes:
        return Rejection("too_large", f"{len(payload)} bytes, more than {max_bytes}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        return Rejection("not_utf8", str(error))
    if not text:
        return Rejection("empty", "empty payload")
    if text[0] == "{":
        return _parse_json(text)
    if _NUMBER.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            return Rejection("out_of_range", f"{text[:40]!r} is beyond the float range")
        return value, None, None
    if text.lstrip("+-").lower() in _NON_FINITE:
        return Rejection("not_finite", f"{text!r} is not a finite number")
    return Rejection("not_a_number", f"{text[:40]!r} is not a number")


def _parse_json(text):
    try:
        document = _decoder.decode(text)
    except _NonFinite as error:
        return Rejection("not_finite", f"{error} is not a finite number")
    except ValueError as error:  # json.JSONDecodeError, or an integer too long to convert
        return Rejection("bad_json", str(error))
    if not isinstance(document, dict):
        return Rejection("wrong_shape", "JSON must be an object with a \"value\"")
    value = document.get("value")
    if type(value) not in (int, float):  # bool is an int subclass: refuse it explicitly
        return Rejection("wrong_shape", f"\"value\" must be a number, not {value!r:.40}")
    try:
        value = float(value)
    except OverflowError:
        return Rejection("out_of_range", "\"value\" is beyond the float range")
    if math.isinf(value):
        return Rejection("out_of_range", "\"value\" is beyond the float range")
    ts = document.get("ts")
    if ts is not None and (type(ts) is not int or not TS_MIN_MS <= ts <= TS_MAX_MS):
        return Rejection("bad_ts", f"\"ts\" must be epoch milliseconds, not {ts!r:.40}")
    seq = document.get("seq")
    if seq is not None:
        if type(seq) is not int:
            return Rejection("wrong_shape", f"\"seq\" must be an integer, not {seq!r:.40}")
        if not -INT64_MAX <= seq <= INT64_MAX:
            return Rejection("out_of_range", "\"seq\" is beyond 64-bit integers")
    return value, ts, seq


class Parser:
    """Parses messages for one sensors root, remembering the topics it has seen."""

    _CACHE_LIMIT = 10_000

    def __init__(self, sensors_root="sensors", max_payload_bytes=1024):
        self.root_levels = sensors_root.split("/")
        self.max_payload_bytes = max_payload_bytes
        self._topics = {}

    def parse(self, topic, payload, received_ns):
        """A Point stamped with `ts` when the payload has one, else `received_ns`."""
        series = self._topics.get(topic)
        if series is None:
            series = parse_topic(topic, self.root_levels)
            if len(self._topics) >= self._CACHE_LIMIT:
                self._topics.clear()
            self._topics[topic] = series
        if type(series) is Rejection:
            return series
        parsed = parse_payload(payload, self.max_payload_bytes)
        if type(parsed) is Rejection:
            return parsed
        value, ts, seq = parsed
        return Point(series[0], series[1], value, seq,
                     received_ns if ts is None else ts * 1_000_000)
