"""The listener's settings: one typed object read from the environment and validated before any
I/O. `read_settings()` raises one ConfigError naming every bad setting."""

import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from listener.measurement_cap import MAX_TRACKED
from service_common.config import DURATION as _DURATION
from service_common.config import EnvReader, defaults, duration_seconds, retention_problem
from service_common.mqtt import MqttSettings, read_mqtt_settings
from service_common.readings import DEFAULT_RETENTION, ReadingRules, read_reading_rules


@dataclass(frozen=True)
class InfluxSettings:
    url: str = "http://localhost:8086"
    database: str = "iot"
    username: str | None = None
    password: str | None = None

    @property
    def parts(self):
        """(host, port, ssl, path) for influxdb.InfluxDBClient."""
        url = urlsplit(self.url)
        ssl = url.scheme == "https"
        return url.hostname, url.port or (443 if ssl else 8086), ssl, url.path.rstrip("/")


@dataclass(frozen=True)
class ListenerSettings:
    """Every default lives here; read_settings() takes them from this class."""

    mqtt: MqttSettings
    influx: InfluxSettings
    topics: tuple[str, ...]  # default: <MQTT_SENSORS_ROOT>/+/+ (computed by read_settings)
    qos: int = 1
    batch_size: int = 5000
    flush_interval: float = 0.5
    # A batch holding QoS 1 messages (acknowledged by the broker to their sender) is stored
    # this soon: the listener's share of what a power cut can take (docs/reliability.md).
    qos1_flush_interval: float = 0.1
    max_unacked: int = 20
    max_payload_bytes: int = 1024
    max_measurements_per_device: int = 100
    spool_dir: Path = Path("spool")
    spool_max_bytes: int = 100 * 1024 * 1024
    retention: str = DEFAULT_RETENTION
    downsample_retention: str = "520w"
    downsample_interval: str | None = "1m"
    stats_interval: float = 5.0
    broker_stats: bool = True
    # Create the database, retention policies and continuous query (off for stores that
    # manage their own: InfluxDB Enterprise, InfluxDB 3 through its v1 API).
    store_setup: bool = True
    # The connection that reads the broker's $SYS counters (None: LISTENER_BROKER_STATS off).
    broker_stats_mqtt: MqttSettings | None = None
    log_level: str = "INFO"
    reading_rules: ReadingRules = ReadingRules()

    @property
    def heartbeat_path(self):
        return self.spool_dir / "heartbeat"


def topic_filter_problem(topic):
    """Why `topic` is not a valid MQTT subscription filter, or None when it is."""
    levels = topic.split("/")
    if topic.startswith("$share/"):
        if len(levels) < 3 or not levels[1] or any(c in levels[1] for c in "+#"):
            return "a shared subscription needs the form $share/<group>/<filter>"
        levels = levels[2:]
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def read_settings(environ=None):
    env = EnvReader(environ)
    mqtt = read_mqtt_settings(env, "LISTENER")
    default = defaults(InfluxSettings)
    influx = InfluxSettings(
        url=env.str("INFLUXDB_URL", default.url),
        database=env.str("INFLUXDB_DATABASE", default.database),
        username=env.str("INFLUXDB_USERNAME", default.username),
        password=env.str("INFLUXDB_PASSWORD", default.password),
    )
    default = defaults(ListenerSettings)
    settings = ListenerSettings(
        mqtt=mqtt,
        influx=influx,
        topics=tuple(env.list("LISTENER_TOPICS", (f"{mqtt.sensors_root}/+/+",))),
        qos=env.int("LISTENER_QOS", default.qos, 0, 1),
        batch_size=env.int("LISTENER_BATCH_SIZE", default.batch_size, 1, 100_000),
        flush_interval=env.float("LISTENER_FLUSH_INTERVAL", default.flush_interval, 0.01, 60),
        qos1_flush_interval=env.float("LISTENER_QOS1_FLUSH_INTERVAL",
                                      default.qos1_flush_interval, 0.01, 60),
        max_unacked=env.int("LISTENER_MAX_UNACKED", default.max_unacked, 1, 65535),
        max_payload_bytes=env.int("LISTENER_MAX_PAYLOAD_BYTES", default.max_payload_bytes, 16,
                                  1024 * 1024),
        max_measurements_per_device=env.int("LISTENER_MAX_MEASUREMENTS_PER_DEVICE",
                                            default.max_measurements_per_device, 1, MAX_TRACKED),
        spool_dir=Path(env.str("LISTENER_SPOOL_DIR", default.spool_dir)),
        spool_max_bytes=int(env.float("LISTENER_SPOOL_MAX_MB", default.spool_max_bytes / 2**20,
                                      0.01, 2**20) * 2**20),
        retention=env.str("LISTENER_RETENTION", default.retention),
        downsample_retention=env.str("LISTENER_DOWNSAMPLE_RETENTION",
                                     default.downsample_retention),
        downsample_interval=env.str_or_off("LISTENER_DOWNSAMPLE_INTERVAL",
                                           default.downsample_interval),
        stats_interval=env.float("LISTENER_STATS_INTERVAL", default.stats_interval, 0.1, 3600),
        broker_stats=env.bool("LISTENER_BROKER_STATS", default.broker_stats),
        store_setup=env.bool("LISTENER_STORE_SETUP", default.store_setup),
        broker_stats_mqtt=_broker_stats_mqtt(env, mqtt),
        log_level=env.log_level("LISTENER_LOG_LEVEL", default.log_level),
        reading_rules=read_reading_rules(env),
    )
    if not settings.broker_stats:
        settings = replace(settings, broker_stats_mqtt=None)
    _check(settings, env.problems)
    env.check()
    return settings


def _broker_stats_mqtt(env, mqtt):
    """The statistics connection's identity: its own client id and, where the broker wants
    credentials, its own user (a broker with use_username_as_clientid would otherwise let the
    two connections take each other over)."""
    client_id = env.str("LISTENER_BROKER_STATS_CLIENT_ID", f"{mqtt.client_id}-stats")
    username = env.str("LISTENER_BROKER_STATS_USERNAME", client_id if mqtt.username else None)
    password = env.str("LISTENER_BROKER_STATS_PASSWORD")
    return replace(mqtt, client_id=client_id, username=username, password=password)


def _check(settings, problems):
    url = urlsplit(settings.influx.url)
    if url.scheme == "memory":
        pass  # listener.store.MemoryStore: nothing to reach
    elif url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"INFLUXDB_URL={settings.influx.url!r} must look like http://host:8086 "
                        "(or memory: for a store inside the process, lost at exit)")
    else:
        try:
            url.port  # noqa: B018 - urlsplit validates the port lazily
        except ValueError:
            problems.append(f"INFLUXDB_URL={settings.influx.url!r} has an invalid port")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", settings.influx.database):
        problems.append(f"INFLUXDB_DATABASE={settings.influx.database!r} must use only "
                        "letters, digits, '_', '-' and '.'")
    if settings.influx.password and not settings.influx.username:
        problems.append("INFLUXDB_PASSWORD is set but INFLUXDB_USERNAME is not")
    stats = settings.broker_stats_mqtt
    if stats is not None and stats.client_id == settings.mqtt.client_id:
        problems.append("LISTENER_BROKER_STATS_CLIENT_ID must differ from LISTENER_CLIENT_ID: "
                        "the statistics connection would take over the readings' session")
    if stats is not None and stats.username and stats.username == settings.mqtt.username:
        problems.append("LISTENER_BROKER_STATS_USERNAME must differ from MQTT_USERNAME: with "
                        "use_username_as_clientid the two connections would take each other "
                        "over (or set LISTENER_BROKER_STATS=false)")
    if stats is not None and stats.password and not stats.username:
        problems.append("LISTENER_BROKER_STATS_PASSWORD is set but no username for it")
    if not settings.topics:
        problems.append("LISTENER_TOPICS names no topic filter")
    for topic in settings.topics:
        problem = topic_filter_problem(topic)
        if problem:
            problems.append(f"LISTENER_TOPICS: {topic!r}: {problem}")
    for name, value in (("LISTENER_RETENTION", settings.retention),
                        ("LISTENER_DOWNSAMPLE_RETENTION", settings.downsample_retention)):
        problem = retention_problem(name, value)
        if problem:
            problems.append(problem)
    interval = settings.downsample_interval
    if interval is not None and (interval == "INF" or not _DURATION.match(interval)
                                 or duration_seconds(interval) < 1):
        problems.append(f"LISTENER_DOWNSAMPLE_INTERVAL={interval!r} must be a duration of at "
                        "least 1s such as 1m, or empty to disable downsampling")
