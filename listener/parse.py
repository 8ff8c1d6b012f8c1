"""Pure parsing of one MQTT message into a Point, or a Rejection saying why not.

The topic is `<sensors root>/<device>/<measurement>`; the payload and the names follow the rules
of service_common.readings, which `POST /ingest` uses too.
"""

from typing import NamedTuple

from service_common.readings import (
    KINDS,
    ReadingRules,
    Rejection,
    name_problem,
    parse_payload,
    reserved_name,
)

__all__ = ["KINDS", "Parser", "Point", "Rejection", "parse_payload", "parse_topic"]


class Point(NamedTuple):
    measurement: str
    device: str
    value: float
    seq: int | None
    time_ns: int


def parse_topic(topic, root_levels):
    """(measurement, device) from `<root>/<device>/<measurement>`, or a Rejection."""
    levels = topic.split("/")
    if len(levels) != len(root_levels) + 2 or levels[:len(root_levels)] != root_levels:
        return Rejection("bad_topic", f"topic {topic!r} is not <root>/<device>/<measurement>")
    device, measurement = levels[-2], levels[-1]
    for what, name in (("device", device), ("measurement", measurement)):
        problem = name_problem(name)
        if problem:
            return Rejection("bad_name", f"topic {topic!r}: the {what} name {problem}")
    return reserved_name(measurement) or (measurement, device)


class Parser:
    """Parses messages for one sensors root, remembering the topics it has seen."""

    _CACHE_LIMIT = 10_000

    def __init__(self, sensors_root="sensors", max_payload_bytes=1024, rules=None):
        self.root_levels = sensors_root.split("/")
        self.max_payload_bytes = max_payload_bytes
        self.rules = ReadingRules() if rules is None else rules
        self._topics = {}

    def series(self, topic):
        """(measurement, device) of a readings topic, or a Rejection saying why it is none."""
        series = self._topics.get(topic)
        if series is None:
            series = parse_topic(topic, self.root_levels)
            if len(self._topics) >= self._CACHE_LIMIT:
                self._topics.clear()
            self._topics[topic] = series
        return series

    def parse(self, topic, payload, received_ns):
        """A Point stamped with `ts` when the payload has one, else `received_ns`."""
        series = self.series(topic)
        if type(series) is Rejection:
            return series
        parsed = parse_payload(payload, self.max_payload_bytes, self.rules,
                               received_ns // 1_000_000)
        if type(parsed) is Rejection:
            return parsed
        value, ts, seq = parsed
        return Point(series[0], series[1], value, seq,
                     received_ns if ts is None else ts * 1_000_000)
