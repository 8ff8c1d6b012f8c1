"""The webhook's settings: one typed object read from the environment, validated before any I/O."""

from dataclasses import dataclass
from typing import Optional

from service_common.config import EnvReader
from service_common.mqtt import MqttSettings, read_mqtt_settings
from webhook.annunciator import DEFAULT_MODE, MODES
from webhook.topics import MAX_ALERT_CHARS, alert_name_problem, device_problem, topic_safe

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class WebhookConfig:
    mqtt: MqttSettings
    username: str
    password: str
    hmac_secret: Optional[str] = None
    hmac_timestamp_header: Optional[str] = None
    hmac_max_skew: float = 300.0
    host: str = "0.0.0.0"  # noqa: S104 - a container's server listens on every interface
    port: int = 5000
    max_body_bytes: int = 1024 * 1024
    publish_timeout: float = 5.0
    log_level: str = "INFO"
    known_alerts: tuple = ()
    annunciator: str = DEFAULT_MODE  # isa, ringback or off
    ack_username: Optional[str] = None  # POST /ack/...: off unless both are set
    ack_password: Optional[str] = None


def read_config(environ=None):
    """WebhookConfig from WEBHOOK_* and MQTT_* variables; ConfigError names every bad setting."""
    env = EnvReader(environ)
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
    log_level = env.str("WEBHOOK_LOG_LEVEL", "INFO").upper()
    if log_level not in _LOG_LEVELS:
        env.problems.append(
            f"WEBHOOK_LOG_LEVEL={log_level!r} must be one of {', '.join(_LOG_LEVELS)}")
    known_alerts = []
    for name in env.list("WEBHOOK_KNOWN_ALERTS", []):
        if alert_name_problem(name):
            env.problems.append(f"WEBHOOK_KNOWN_ALERTS: {name!r} is no alert name (a letter or "
                                f"digit, at most {MAX_ALERT_CHARS} characters)")
        elif topic_safe(name) not in known_alerts:
            known_alerts.append(topic_safe(name))
    annunciator = env.str("WEBHOOK_ANNUNCIATOR", DEFAULT_MODE).lower()
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
        hmac_max_skew=env.float("WEBHOOK_HMAC_MAX_SKEW", 300.0, 1.0, 86400.0),
        host=env.str("WEBHOOK_HOST", "0.0.0.0"),  # noqa: S104
        port=env.int("WEBHOOK_PORT", 5000, 1, 65535),
        max_body_bytes=env.int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
        publish_timeout=env.float("WEBHOOK_PUBLISH_TIMEOUT", 5.0, 0.1, 60.0),
        log_level=log_level,
        known_alerts=tuple(known_alerts),
        annunciator=annunciator,
        ack_username=ack_username,
        ack_password=ack_password,
    )
    env.check()
    return config
