"""The OPC UA bridge's nodes file (docs/opcua.md): its format, its defaults and its parser,
pure code without I/O except `read_nodes_file`. The bridge reads it; the console's tag mapping
writes it and checks it with the same parser first."""

import math
import re
from dataclasses import dataclass
from pathlib import Path

from service_common.opcua import nodeid

LOOP_MEASUREMENTS = ("pv", "sp", "out", "mode")
_TOPIC_LEVEL = re.compile(r"^[^/+#\s]+$")

# Nodes-file defaults: the one home of these numbers (docs/opcua.md and the example show them).
PUBLISHING_INTERVAL_MS = 500.0
SAMPLING_INTERVAL_MS = 250.0
QUEUE_SIZE = 10
REPUBLISH_INTERVAL_MS = None         # off: a node's value is sent only when it changes
MIN_REPUBLISH_INTERVAL_MS = 100.0    # 0 turns republishing off (a node's override too)
RECOMMENDED_REPUBLISH_INTERVAL_MS = 10_000  # what opcua-nodes.example.yaml shows
HEALTH_INTERVAL_MS = 10_000          # loop health figures published this often; 0: off
MIN_HEALTH_INTERVAL_MS = 100.0
_ITEM_KEYS = {"deadband", "sampling_interval_ms", "queue_size", "republish_interval_ms"}
_FILE_KEYS = {"publishing_interval_ms", "sampling_interval_ms", "queue_size",
              "republish_interval_ms", "health_interval_ms", "nodes", "loops"}
_WRITE_KEYS = {"writable", "min", "max"}
_NODE_KEYS = {"node", "device", "measurement", *_ITEM_KEYS, *_WRITE_KEYS}
_MEMBER_KEYS = {"node", *_WRITE_KEYS}   # a loop member given as a mapping
# A loop's optional health fields (HealthSettings; docs/loops.md).
_HEALTH_KEYS = {"span", "out_limits", "manual_value", "window_s", "osc_amplitude_pct",
                "osc_period_s"}
_LOOP_KEYS = {"id", *LOOP_MEASUREMENTS, *_ITEM_KEYS, *_HEALTH_KEYS}


# Nodes-file defaults of a loop's health fields: the one home of these numbers.
SPAN = 100.0               # PV range in its units (right for a PV in %)
OUT_LOW, OUT_HIGH = 0.0, 100.0   # OUT at or beyond these is saturated
MANUAL_VALUE = 1.0         # the mode tag's value that means manual (a boolean "manual" flag)
WINDOW_S = 600.0           # rolling window of every figure
OSC_AMPLITUDE_PCT = 1.0    # a, in % of span
OSC_PERIOD_S = 60.0        # Tu


@dataclass(frozen=True)
class HealthSettings:
    span: float = SPAN
    out_low: float = OUT_LOW
    out_high: float = OUT_HIGH
    manual_value: float = MANUAL_VALUE
    window_s: float = WINDOW_S
    osc_amplitude_pct: float = OSC_AMPLITUDE_PCT
    osc_period_s: float = OSC_PERIOD_S

    @property
    def iae_limit(self):
        """Hägglund's IAE_lim of one half-cycle, in % of span times seconds."""
        return self.osc_amplitude_pct * self.osc_period_s / math.pi


@dataclass(frozen=True)
class Node:
    """One monitored item: a node, where its readings go, and how the server samples it."""
    ref: nodeid.NodeRef
    device: str
    measurement: str
    sampling_interval_ms: float = SAMPLING_INTERVAL_MS
    queue_size: int = QUEUE_SIZE
    deadband: float | None = None
    # Re-send the last good value, stamped now, when no change came for this long; None: off.
    republish_interval_ms: float | None = REPUBLISH_INTERVAL_MS
    # Written from opcua/<client id>/write/<device>/<measurement>, clamped to [min, max].
    writable: bool = False
    min: float | None = None
    max: float | None = None

    @property
    def name(self):
        return f"{self.device}/{self.measurement} ({self.ref.text})"


@dataclass(frozen=True)
class Loop:
    """A PID loop of the nodes file: its id (the readings' device) and its health settings."""
    id: str
    health: HealthSettings = HealthSettings()


@dataclass(frozen=True)
class NodesFile:
    publishing_interval_ms: float = PUBLISHING_INTERVAL_MS
    nodes: tuple = ()
    loops: tuple = ()
    health_interval_ms: float | None = HEALTH_INTERVAL_MS



def read_nodes_file(path, problems):
    """NodesFile from the YAML nodes file; problems are appended."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"OPCUA_NODES={str(path)!r}: cannot read it ({error.strerror})")
        return NodesFile()
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}".replace("\n", " "))
        return NodesFile()
    return parse_nodes_file(document, problems, where=str(path))


def parse_nodes(document, problems, where="nodes file"):
    """(publishing interval, [Node]) from a parsed nodes file; problems are appended."""
    parsed = parse_nodes_file(document, problems, where)
    return parsed.publishing_interval_ms, list(parsed.nodes)


def parse_nodes_file(document, problems, where="nodes file"):
    """NodesFile from a parsed nodes file; problems are appended."""
    if not isinstance(document, dict):
        problems.append(f"{where}: must be a mapping with `nodes:` and/or `loops:`")
        return NodesFile()
    _unknown_keys(document, _FILE_KEYS, where, problems)
    publishing = _number(document, "publishing_interval_ms", PUBLISHING_INTERVAL_MS, where,
                         problems, minimum=1)
    health_interval = _health_interval(document, where, problems)
    defaults = {
        "sampling_interval_ms": _number(document, "sampling_interval_ms", SAMPLING_INTERVAL_MS,
                                        where, problems, minimum=0),
        "queue_size": int(_number(document, "queue_size", QUEUE_SIZE, where, problems, minimum=1,
                                  integer=True)),
        "republish_interval_ms": _republish(document, REPUBLISH_INTERVAL_MS, where, problems),
    }
    nodes, loops = [], []
    for i, entry in enumerate(_list(document, "nodes", where, problems)):
        at = f"{where}: nodes[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: must be a mapping with node, device and measurement")
            continue
        _unknown_keys(entry, _NODE_KEYS, at, problems)
        device = _level(entry, "device", at, problems)
        measurement = _level(entry, "measurement", at, problems)
        nodes.append(_node(entry, "node", device, measurement, defaults, at, problems))
    for i, entry in enumerate(_list(document, "loops", where, problems)):
        at = f"{where}: loops[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: must be a mapping with id, pv, sp and out")
            continue
        _unknown_keys(entry, _LOOP_KEYS, at, problems)
        loop_id = _level(entry, "id", at, problems)
        if "pv" not in entry:
            problems.append(f"{at}: pv is required")
        for measurement in LOOP_MEASUREMENTS:
            member = entry.get(measurement)
            if isinstance(member, dict):   # {node, writable, min, max}
                _unknown_keys(member, _MEMBER_KEYS, f"{at}: {measurement}", problems)
                item = {k: entry[k] for k in _ITEM_KEYS if k in entry}
                nodes.append(_node({**item, **member}, "node", loop_id, measurement, defaults,
                                   f"{at}: {measurement}", problems))
            elif measurement in entry:
                if any(key in entry for key in _WRITE_KEYS):
                    problems.append(f"{at}: writable, min and max belong to a member: "
                                    f"{measurement}: {{node: ..., writable: true, min: .., "
                                    "max: ..}")
                nodes.append(_node(entry, measurement, loop_id, measurement, defaults, at,
                                   problems))
        health = _health(entry, at, problems)
        if loop_id is not None:
            loops.append(Loop(loop_id, health))
    nodes = [node for node in nodes if node is not None]
    seen = {}
    for node in nodes:
        key = (node.device, node.measurement)
        if key in seen:
            problems.append(f"{where}: {node.device}/{node.measurement} is fed by two nodes "
                            f"({seen[key]} and {node.ref.text})")
        seen[key] = node.ref.text
    ids = [loop.id for loop in loops]
    for loop_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{where}: loop id {loop_id!r} is used twice")
    if not nodes and "nodes" not in document and "loops" not in document:
        problems.append(f"{where}: names no node (add `nodes:` or `loops:`)")
    return NodesFile(publishing, tuple(nodes), tuple(loops), health_interval)



def _health_interval(document, where, problems):
    """health_interval_ms: at least MIN_HEALTH_INTERVAL_MS, or 0 (None) for off."""
    return _interval_or_off(document, "health_interval_ms", HEALTH_INTERVAL_MS,
                            MIN_HEALTH_INTERVAL_MS, where, problems)


def _health(entry, at, problems):
    """A loop's HealthSettings from its optional health fields."""
    default = HealthSettings()
    span = _number(entry, "span", default.span, at, problems)
    if span <= 0:
        problems.append(f"{at}: span={span:g} must be above 0")
        span = default.span
    low, high = default.out_low, default.out_high
    limits = entry.get("out_limits")
    if limits is not None:
        if (not isinstance(limits, list) or len(limits) != 2
                or not all(_is_number(v) for v in limits) or limits[0] >= limits[1]):
            problems.append(f"{at}: out_limits={limits!r} must be [low, high] with low < high")
        else:
            low, high = float(limits[0]), float(limits[1])
    values = {}
    for key, minimum in (("window_s", 1), ("osc_amplitude_pct", 0), ("osc_period_s", 0)):
        value = _number(entry, key, getattr(default, key), at, problems, minimum=minimum)
        if key != "window_s" and value <= 0:
            problems.append(f"{at}: {key}={value:g} must be above 0")
            value = getattr(default, key)
        values[key] = value
    if "manual_value" in entry and "mode" not in entry:
        problems.append(f"{at}: manual_value needs a mode tag (mode: <node id>)")
    manual = _number(entry, "manual_value", default.manual_value, at, problems)
    return HealthSettings(span=span, out_low=low, out_high=high, manual_value=manual,
                                      **values)


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _node(entry, key, device, measurement, defaults, at, problems):
    text = entry.get(key)
    try:
        ref = nodeid.parse(text)
    except nodeid.NodeIdError as error:
        problems.append(f"{at}: {key}: {text!r}: {error}" if text is not None
                        else f"{at}: {key} is required")
        return None
    deadband = entry.get("deadband")
    if deadband is not None:
        deadband = _number(entry, "deadband", None, at, problems, minimum=0)
    writable, low, high = _write_limits(entry, at, problems)
    if device is None or measurement is None:
        return None
    return Node(
        ref=ref, device=device, measurement=measurement,
        sampling_interval_ms=_number(entry, "sampling_interval_ms",
                                     defaults["sampling_interval_ms"], at, problems, minimum=0),
        queue_size=int(_number(entry, "queue_size", defaults["queue_size"], at, problems,
                               minimum=1, integer=True)),
        deadband=deadband,
        republish_interval_ms=_republish(entry, defaults["republish_interval_ms"], at, problems),
        writable=writable, min=low, max=high,
    )


def _write_limits(entry, at, problems):
    """(writable, min, max): a writable node needs both limits, min < max."""
    writable = entry.get("writable", False)
    if not isinstance(writable, bool):
        problems.append(f"{at}: writable={writable!r} must be true or false")
        writable = False
    low = _number(entry, "min", None, at, problems)
    high = _number(entry, "max", None, at, problems)
    if not writable:
        if "min" in entry or "max" in entry:
            problems.append(f"{at}: min and max are the limits of a write: add writable: true")
        return False, None, None
    if low is None or high is None:
        problems.append(f"{at}: writable: true needs min and max (the limits writes are clamped "
                        "to)")
        return False, None, None
    if low >= high:
        problems.append(f"{at}: min={low:g} must be below max={high:g}")
        return False, None, None
    return True, low, high


def _republish(entry, default, at, problems):
    """republish_interval_ms: at least MIN_REPUBLISH_INTERVAL_MS, or 0 (None) for off."""
    return _interval_or_off(entry, "republish_interval_ms", default, MIN_REPUBLISH_INTERVAL_MS,
                            at, problems)


def _interval_or_off(entry, key, default, minimum, at, problems):
    """An interval in ms of at least `minimum`, 0 for off (None), or `default` when absent."""
    value = _number(entry, key, default, at, problems, minimum=0)
    if key not in entry or value is default:
        return default
    if value == 0:
        return None
    if value < minimum:
        problems.append(f"{at}: {key}={value:g} must be 0 (off) or at least {minimum:g}")
        return default
    return value


def _unknown_keys(entry, known, at, problems):
    for key in entry:
        if key not in known:
            problems.append(f"{at}: unknown key {key!r} (known: {', '.join(sorted(known))})")


def _list(document, key, where, problems):
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{where}: {key} must be a list")
        return []
    return value


def _level(entry, key, at, problems):
    value = entry.get(key)
    if value is None:
        problems.append(f"{at}: {key} is required")
        return None
    value = str(value)
    if not _TOPIC_LEVEL.match(value):
        problems.append(f"{at}: {key}={value!r} must be one topic level (no '/', '+', '#' "
                        "or spaces)")
        return None
    return value


def _number(entry, key, default, at, problems, minimum=None, integer=False):
    value = entry.get(key, default)
    if value is default:
        return default
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if integer and valid and value != int(value):
        valid = False
    if not valid or value in (float("inf"), float("-inf")):
        problems.append(f"{at}: {key}={value!r} must be a{'n integer' if integer else ' number'}")
        return default

    if minimum is not None and value < minimum:
        problems.append(f"{at}: {key}={value!r} must be at least {minimum}")
        return default
    return float(value)
