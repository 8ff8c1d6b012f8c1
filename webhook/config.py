"""The webhook's settings: one typed object read from the environment, validated before any I/O.

The dataclass holds every default; `read_config` reads the variables over them.
"""

from dataclasses import dataclass, fields, replace
from pathlib import Path

from service_common.config import EnvReader
from service_common.mqtt import MqttSettings, read_mqtt_settings
from webhook.annunciator import DEFAULT_MODE, MODES
from webhook.ingest import IngestSettings, read_ingest_settings
from webhook.state import MAX_ENTRIES_ALLOWED, Limits
from webhook.topics import alert_name_problem, device_problem, topic_safe


@dataclass(frozen=True)
class WebhookConfig:
    mqtt: MqttSettings
    username: str
    password: str
    hmac_secret: str | None = None
    hmac_timestamp_header: str | None = None
    hmac_max_skew: float = 300.0
    # Loopback unless told otherwise; compose sets WEBHOOK_HOST=0.0.0.0 inside its network.
    host: str = "127.0.0.1"
    port: int = 5000
    max_body_bytes: int = 1024 * 1024
    publish_timeout: float = 5.0
    log_level: str = "INFO"
    known_alerts: tuple = ()
    annunciator: str = DEFAULT_MODE  # isa, ringback or off
    ack_username: str | None = None  # POST /ack/...: off unless both are set
    ack_password: str | None = None
    state_max_entries: int = Limits.max_entries
    state_forget_after: float = Limits.forget_after
    # The folder of the state file (the webhook's truth on disk; retained topics are its cache).
    state_dir: Path = Path("webhook-state")
    # The longest a shelve may last (s); a longer `until` is cut to it.
    shelve_max_s: float = 8 * 3600.0
    # waitress: open connections at most, and how long one may stay idle (s).
    connection_limit: int = 500
    channel_timeout: int = 10
    stats_interval: float = 5.0
    refusal_log_interval: float = 60.0

    ingest: IngestSettings = IngestSettings()

    @property
    def limits(self):
        return Limits(self.state_max_entries, self.state_forget_after)


DEFAULTS = {f.name: f.default for f in fields(WebhookConfig) if f.name not in
            ("mqtt", "username", "password", "ingest")}


def read_config(environ=None):
    """WebhookConfig from WEBHOOK_* and MQTT_* variables; ConfigError names every bad setting."""
    env = EnvReader(environ)
    d = DEFAULTS
    mqtt = read_mqtt_settings(env, "WEBHOOK", "webhook")
    problem = device_problem(mqtt.client_id)
    if problem:
        env.problems.append(f"WEBHOOK_CLIENT_ID={mqtt.client_id!r} {problem} (it is a topic level)")
    username = env.str("WEBHOOK_USERNAME", required=True)
    password = env.str("WEBHOOK_PASSWORD", required=True)
    timestamp_header = env.str("WEBHOOK_HMAC_TIMESTAMP_HEADER")
    hmac_secret = env.str("WEBHOOK_HMAC_SECRET")
    if timestamp_header and not hmac_secret:
        env.problems.append("WEBHOOK_HMAC_TIMESTAMP_HEADER is set but WEBHOOK_HMAC_SECRET is not")
    log_level = env.log_level("WEBHOOK_LOG_LEVEL", d["log_level"])
    known_alerts = []
    for name in env.list("WEBHOOK_KNOWN_ALERTS", d["known_alerts"]):
        problem = alert_name_problem(name)
        if problem:
            env.problems.append(f"WEBHOOK_KNOWN_ALERTS: {name!r} is no alert name ({problem})")
        elif topic_safe(name) not in known_alerts:
            known_alerts.append(topic_safe(name))
    annunciator = env.str("WEBHOOK_ANNUNCIATOR", d["annunciator"]).lower()
    if annunciator not in MODES:
        env.problems.append(f"WEBHOOK_ANNUNCIATOR={annunciator!r} must be one of "
                            f"{', '.join(MODES)}")
    ack_username, ack_password = env.str("ACK_USERNAME"), env.str("ACK_PASSWORD")
    if bool(ack_username) != bool(ack_password):
        env.problems.append("ACK_USERNAME and ACK_PASSWORD must be set together")
    elif ack_username and ":" in ack_username:
        env.problems.append("ACK_USERNAME must not contain ':'")
    elif ack_password and ack_password == password:
        env.problems.append("ACK_PASSWORD must differ from WEBHOOK_PASSWORD (Grafana's)")
    config = WebhookConfig(
        mqtt=mqtt,
        username=username or "",
        password=password or "",
        hmac_secret=hmac_secret,
        hmac_timestamp_header=timestamp_header,
        hmac_max_skew=env.float("WEBHOOK_HMAC_MAX_SKEW", d["hmac_max_skew"], 1.0, 86400.0),
        host=env.str("WEBHOOK_HOST", d["host"]),
        port=env.int("WEBHOOK_PORT", d["port"], 1, 65535),
        max_body_bytes=env.int("WEBHOOK_MAX_BODY_BYTES", d["max_body_bytes"], 1024,
                               64 * 1024 * 1024),
        publish_timeout=env.float("WEBHOOK_PUBLISH_TIMEOUT", d["publish_timeout"], 0.1, 60.0),
        log_level=log_level,
        known_alerts=tuple(known_alerts),
        state_max_entries=env.int("WEBHOOK_STATE_MAX_ENTRIES", d["state_max_entries"], 10,
                                  MAX_ENTRIES_ALLOWED),
        state_forget_after=env.float("WEBHOOK_STATE_FORGET_AFTER", d["state_forget_after"],
                                     1.0, 10 * 365 * 86400.0),
        state_dir=Path(env.str("WEBHOOK_STATE_DIR", d["state_dir"])),
        shelve_max_s=env.float("WEBHOOK_SHELVE_MAX_S", d["shelve_max_s"], 60.0, 30 * 86400.0),
        connection_limit=env.int("WEBHOOK_CONNECTION_LIMIT", d["connection_limit"], 4, 10_000),
        channel_timeout=env.int("WEBHOOK_CHANNEL_TIMEOUT", d["channel_timeout"], 1, 3600),
        stats_interval=env.float("WEBHOOK_STATS_INTERVAL", d["stats_interval"], 0.1, 3600.0),
        refusal_log_interval=env.float("WEBHOOK_REFUSAL_LOG_INTERVAL",
                                       d["refusal_log_interval"], 0.1, 86400.0),
        annunciator=annunciator,
        ack_username=ack_username,
        ack_password=ack_password,
    )
    config = replace(config, ingest=read_ingest_settings(env, config))
    env.check()
    return config
