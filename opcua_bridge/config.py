"""The bridge's settings: the environment (OPCUA_*, MQTT_*) and the nodes file, read into one
typed object and validated before any I/O. `read_settings()` raises one ConfigError naming every
bad setting, including every bad entry of the nodes file. The connection settings and the nodes
file's format are shared with the console (service_common/opcua/)."""

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from service_common import service_ids
from service_common.config import EnvReader, defaults
from service_common.mqtt import MqttSettings, read_mqtt_settings
from service_common.opcua.connection import OpcuaConnection, read_connection
from service_common.opcua.nodes_file import (
    HEALTH_INTERVAL_MS,
    PUBLISHING_INTERVAL_MS,
    read_nodes_file,
)

_TOPIC_LEVEL = re.compile(r"^[^/+#\s]+$")


@dataclass(frozen=True, kw_only=True)
class BridgeSettings(OpcuaConnection):
    """The connection (OpcuaConnection's fields), the nodes file's content and the bridge's own
    settings."""
    mqtt: MqttSettings
    nodes: tuple = ()
    loops: tuple = ()
    health_interval_ms: float | None = HEALTH_INTERVAL_MS
    publishing_interval_ms: float = PUBLISHING_INTERVAL_MS
    buffer_size: int = 100_000
    replay_size: int = 50_000    # readings kept for a replay after the broker lost its state
    replay_delay: float = 35.0   # s after reconnecting: subscribers' back-off is at most 30 s
    reconnect_max: float = 30.0
    stats_interval: float = 10.0
    heartbeat: Path = Path("/tmp/opcua-bridge.heartbeat")  # noqa: S108 - a tmpfs in the image
    log_level: str = "INFO"


def read_settings(environ=None, with_nodes=True):
    """BridgeSettings from the environment; with_nodes=False skips the nodes file (browse).
    Every default is BridgeSettings' own."""
    env = EnvReader(environ)
    default = defaults(BridgeSettings)
    mqtt = read_mqtt_settings(env, "OPCUA", service_ids.OPCUA_BRIDGE)
    if not _TOPIC_LEVEL.match(mqtt.client_id):
        env.problems.append(f"OPCUA_CLIENT_ID={mqtt.client_id!r} must be one topic level")
    connection = read_connection(env)
    settings = BridgeSettings(
        **asdict(connection),
        mqtt=mqtt,
        buffer_size=env.int("OPCUA_BUFFER_SIZE", default.buffer_size, 1, 10_000_000),
        replay_size=env.int("OPCUA_REPLAY_SIZE", default.replay_size, 0, 10_000_000),
        replay_delay=env.float("OPCUA_REPLAY_DELAY", default.replay_delay, 0, 3600),
        reconnect_max=env.float("OPCUA_RECONNECT_MAX", default.reconnect_max, 0.1, 3600),
        stats_interval=env.float("OPCUA_STATS_INTERVAL", default.stats_interval, 0.1, 3600),
        heartbeat=Path(env.str("OPCUA_HEARTBEAT", str(default.heartbeat))),
        log_level=env.log_level("OPCUA_LOG_LEVEL", default.log_level),
    )
    if with_nodes:
        settings = with_nodes_file(settings, read_nodes_file(connection.nodes_path, env.problems))
    env.check()
    return settings


def with_nodes_file(settings, nodes_file):
    """The settings with what a (re)read nodes file says."""
    return replace(settings, publishing_interval_ms=nodes_file.publishing_interval_ms,
                   nodes=tuple(nodes_file.nodes), loops=tuple(nodes_file.loops),
                   health_interval_ms=nodes_file.health_interval_ms)

