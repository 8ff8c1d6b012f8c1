"""The bridge's settings: the environment (OPCUA_*, MQTT_*) and the nodes file, read into one
typed object and validated before any I/O. `read_settings()` raises one ConfigError naming every
bad setting, including every bad entry of the nodes file."""

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from opcua_bridge import loop_health, nodeid
from service_common.config import ConfigError, EnvReader
from service_common.mqtt import MqttSettings, read_mqtt_settings

SECURITY_MODES = ("None", "Basic256Sha256,Sign", "Basic256Sha256,SignAndEncrypt")
LOOP_MEASUREMENTS = ("pv", "sp", "out", "mode")
_TOPIC_LEVEL = re.compile(r"^[^/+#\s]+$")
_THUMBPRINT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")

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
# A loop's optional health fields (loop_health.HealthSettings; docs/loops.md).
_HEALTH_KEYS = {"span", "out_limits", "manual_value", "window_s", "osc_amplitude_pct",
                "osc_period_s"}
_LOOP_KEYS = {"id", *LOOP_MEASUREMENTS, *_ITEM_KEYS, *_HEALTH_KEYS}


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
    health: loop_health.HealthSettings = loop_health.HealthSettings()


@dataclass(frozen=True)
class NodesFile:
    publishing_interval_ms: float = PUBLISHING_INTERVAL_MS
    nodes: tuple = ()
    loops: tuple = ()
    health_interval_ms: float | None = HEALTH_INTERVAL_MS


@dataclass(frozen=True)
class BridgeSettings:
    mqtt: MqttSettings
    endpoint: str
    nodes: tuple = ()
    loops: tuple = ()
    health_interval_ms: float | None = HEALTH_INTERVAL_MS
    nodes_path: Path = Path("opcua-nodes.yaml")
    publishing_interval_ms: float = PUBLISHING_INTERVAL_MS
    security: str = "None"
    cert: Path | None = None
    key: Path | None = None
    trust_dir: Path | None = None
    server_thumbprint: str | None = None
    username: str | None = None
    password: str | None = None
    buffer_size: int = 100_000
    replay_size: int = 50_000    # readings kept for a replay after the broker lost its state
    replay_delay: float = 35.0   # s after reconnecting: subscribers' back-off is at most 30 s
    reconnect_max: float = 30.0
    timeout: float = 10.0
    stats_interval: float = 10.0
    heartbeat: Path = Path("/tmp/opcua-bridge.heartbeat")  # noqa: S108 - a tmpfs in the image
    log_level: str = "INFO"

    @property
    def secure(self):
        return self.security != "None"


def read_settings(environ=None, with_nodes=True):
    """BridgeSettings from the environment; with_nodes=False skips the nodes file (browse).
    Every default is BridgeSettings' own."""
    env = EnvReader(environ)
    default = BridgeSettings(mqtt=MqttSettings(), endpoint="")
    mqtt = read_mqtt_settings(env, "OPCUA", "opcua-bridge")
    if not _TOPIC_LEVEL.match(mqtt.client_id):
        env.problems.append(f"OPCUA_CLIENT_ID={mqtt.client_id!r} must be one topic level")
    endpoint = env.str("OPCUA_ENDPOINT", required=True)
    if endpoint:
        url = urlsplit(endpoint)
        if url.scheme != "opc.tcp" or not url.hostname:
            env.problems.append(f"OPCUA_ENDPOINT={endpoint!r} must look like opc.tcp://plc:4840/")
    security = env.str("OPCUA_SECURITY", default.security).replace(" ", "")
    if security not in SECURITY_MODES:
        env.problems.append(f"OPCUA_SECURITY={security!r} must be one of "
                            + ", ".join(SECURITY_MODES))
    thumbprint = env.str("OPCUA_SERVER_THUMBPRINT")
    if thumbprint:
        thumbprint = thumbprint.replace(":", "").lower()
        if not _THUMBPRINT.match(thumbprint):
            env.problems.append("OPCUA_SERVER_THUMBPRINT must be a SHA-1 (40 hex digits) or "
                                "SHA-256 (64 hex digits) certificate thumbprint")
    nodes_path = Path(env.str("OPCUA_NODES", str(default.nodes_path)))
    settings = BridgeSettings(
        mqtt=mqtt,
        endpoint=endpoint or "",
        nodes_path=nodes_path,
        security=security,
        cert=_path(env.str("OPCUA_CERT")),
        key=_path(env.str("OPCUA_KEY")),
        trust_dir=_path(env.str("OPCUA_TRUST_DIR")),
        server_thumbprint=thumbprint,
        username=env.str("OPCUA_USERNAME"),
        password=env.str("OPCUA_PASSWORD"),
        buffer_size=env.int("OPCUA_BUFFER_SIZE", default.buffer_size, 1, 10_000_000),
        replay_size=env.int("OPCUA_REPLAY_SIZE", default.replay_size, 0, 10_000_000),
        replay_delay=env.float("OPCUA_REPLAY_DELAY", default.replay_delay, 0, 3600),
        reconnect_max=env.float("OPCUA_RECONNECT_MAX", default.reconnect_max, 0.1, 3600),
        timeout=env.float("OPCUA_TIMEOUT", default.timeout, 0.5, 300),
        stats_interval=env.float("OPCUA_STATS_INTERVAL", default.stats_interval, 0.1, 3600),
        heartbeat=Path(env.str("OPCUA_HEARTBEAT", str(default.heartbeat))),
        log_level=env.log_level("OPCUA_LOG_LEVEL", default.log_level),
    )
    _check_security(settings, env.problems)
    if with_nodes:
        settings = with_nodes_file(settings, read_nodes_file(nodes_path, env.problems))
    env.check()
    return settings


def with_nodes_file(settings, nodes_file):
    """The settings with what a (re)read nodes file says."""
    return replace(settings, publishing_interval_ms=nodes_file.publishing_interval_ms,
                   nodes=tuple(nodes_file.nodes), loops=tuple(nodes_file.loops),
                   health_interval_ms=nodes_file.health_interval_ms)


def _path(value):
    return Path(value) if value else None


def _check_security(settings, problems):
    if settings.password and not settings.username:
        problems.append("OPCUA_PASSWORD is set but OPCUA_USERNAME is not")
    if settings.username and not settings.password:
        problems.append("OPCUA_USERNAME is set but OPCUA_PASSWORD is not")
    if not settings.secure:
        if settings.username:
            problems.append("OPCUA_USERNAME needs OPCUA_SECURITY=Basic256Sha256,Sign or "
                            "Basic256Sha256,SignAndEncrypt: without security the password "
                            "crosses the network readable")
        return
    for name, path in (("OPCUA_CERT", settings.cert), ("OPCUA_KEY", settings.key)):
        if path is None:
            problems.append(f"{name} is required with OPCUA_SECURITY={settings.security} "
                            "(create it with `python scripts/opcua_cert.py`)")
        elif not path.is_file():
            problems.append(f"{name}={str(path)!r}: no such file "
                            "(create it with `python scripts/opcua_cert.py`)")
    if settings.trust_dir is None and settings.server_thumbprint is None:
        problems.append(f"OPCUA_SECURITY={settings.security} needs the server's certificate "
                        "trusted: set OPCUA_TRUST_DIR (a folder with it) or "
                        "OPCUA_SERVER_THUMBPRINT")
    elif settings.trust_dir is not None and not settings.trust_dir.is_dir():
        problems.append(f"OPCUA_TRUST_DIR={str(settings.trust_dir)!r}: no such folder")


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
    default = loop_health.HealthSettings()
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
    return loop_health.HealthSettings(span=span, out_low=low, out_high=high, manual_value=manual,
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


__all__ = ["BridgeSettings", "ConfigError", "Loop", "Node", "NodesFile", "read_settings",
           "parse_nodes", "parse_nodes_file"]
