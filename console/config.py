"""The console's settings: one typed object read from the environment, validated before any I/O.

The dataclass holds every default; `read_config` reads the variables over them.
"""

from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from console.history import InfluxSettings
from service_common import service_ids
from service_common.config import EnvReader
from service_common.mqtt import MqttSettings, read_mqtt_settings
from service_common.opcua.connection import read_connection

MIN_SECRET_KEY = 32


@dataclass(frozen=True)
class ConsoleConfig:
    mqtt: MqttSettings
    secret_key: str
    influx: InfluxSettings = InfluxSettings()
    # The OPC UA server and nodes file of the bridge (an OpcuaConnection from the OPCUA_*
    # settings): tag mapping is on when OPCUA_ENDPOINT is set.
    opcua: object = None
    # Loopback: Caddy is the one front (docs/console.md); compose sets 0.0.0.0 in its network.
    host: str = "127.0.0.1"
    port: int = 5080
    users_file: str = "var/console/users.json"
    # A login lasts this long, and ends sooner after this long without a page or a change.
    session_max_s: float = 12 * 3600.0
    session_idle_s: float = 3600.0
    # Secure cookies: sent only over HTTPS (Caddy), or to http://localhost for a test.
    cookie_secure: bool = True
    # Logins: at most this many failed tries per user name and per address in a minute.
    login_tries_per_minute: int = 5
    shelve_max_s: float = 8 * 3600.0
    # Waitress worker threads: every open page holds one for its live updates.
    threads: int = 48
    tokens_file: str = "var/console/tokens.json"
    # The read API's bounds: the longest range, the most points of a series, journal entries.
    api_max_range_s: float = 31 * 86400.0
    api_max_points: int = 1000
    api_max_entries: int = 1000
    # Operators sharing the alarm load, for the alarm rate per operator (performance page).
    operators: int = 1
    log_level: str = "INFO"


DEFAULTS = {f.name: f.default for f in fields(ConsoleConfig)
            if f.name not in ("mqtt", "secret_key", "influx", "opcua")}


def read_config(environ=None):
    """ConsoleConfig from CONSOLE_* and MQTT_* variables; ConfigError names every bad setting."""
    env = EnvReader(environ)
    d = DEFAULTS
    mqtt = read_mqtt_settings(env, "CONSOLE", service_ids.CONSOLE)
    secret_key = env.str("CONSOLE_SECRET_KEY", required=True) or ""
    if secret_key and len(secret_key) < MIN_SECRET_KEY:
        env.problems.append(f"CONSOLE_SECRET_KEY must be at least {MIN_SECRET_KEY} characters "
                            "(make secrets writes one)")
    session_max_s = env.float("CONSOLE_SESSION_MAX_S", d["session_max_s"], 1.0, 7 * 86400.0)
    session_idle_s = env.float("CONSOLE_SESSION_IDLE_S", d["session_idle_s"], 1.0, 7 * 86400.0)
    default_influx = InfluxSettings()
    influx = InfluxSettings(
        url=env.str("INFLUXDB_URL", default_influx.url),
        database=env.str("INFLUXDB_DATABASE", default_influx.database),
        username=env.str("CONSOLE_INFLUXDB_USERNAME", default_influx.username),
        password=env.str("CONSOLE_INFLUXDB_PASSWORD", default_influx.password),
    )
    url = urlsplit(influx.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        env.problems.append(f"INFLUXDB_URL={influx.url!r} must look like http://host:8086")
    if influx.password and not influx.username:
        env.problems.append("CONSOLE_INFLUXDB_PASSWORD is set but CONSOLE_INFLUXDB_USERNAME "
                            "is not")
    opcua = None
    if env.raw("OPCUA_ENDPOINT"):
        opcua = read_connection(env)
    config = ConsoleConfig(
        mqtt=mqtt,
        secret_key=secret_key,
        influx=influx,
        opcua=opcua,
        host=env.str("CONSOLE_HOST", d["host"]),
        port=env.int("CONSOLE_PORT", d["port"], 0, 65535),
        users_file=env.str("CONSOLE_USERS_FILE", d["users_file"]),
        session_max_s=session_max_s,
        session_idle_s=session_idle_s,
        cookie_secure=env.bool("CONSOLE_COOKIE_SECURE", d["cookie_secure"]),
        login_tries_per_minute=env.int("CONSOLE_LOGIN_TRIES_PER_MINUTE",
                                       d["login_tries_per_minute"], 1, 60),
        shelve_max_s=env.float("CONSOLE_SHELVE_MAX_S", d["shelve_max_s"], 60.0, 7 * 86400.0),
        threads=env.int("CONSOLE_THREADS", d["threads"], 4, 1000),
        tokens_file=env.str("CONSOLE_TOKENS_FILE", d["tokens_file"]),
        api_max_range_s=env.float("CONSOLE_API_MAX_RANGE_S", d["api_max_range_s"], 60.0,
                                  10 * 365 * 86400.0),
        api_max_points=env.int("CONSOLE_API_MAX_POINTS", d["api_max_points"], 10, 100_000),
        api_max_entries=env.int("CONSOLE_API_MAX_ENTRIES", d["api_max_entries"], 10, 100_000),
        operators=env.int("CONSOLE_OPERATORS", d["operators"], 1, 100),
        log_level=env.log_level("CONSOLE_LOG_LEVEL", d["log_level"]),
    )
    env.check()
    return config
