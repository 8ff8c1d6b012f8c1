"""The settings of `POST /ingest` (INGEST_*), read without Flask: `IngestSettings` holds every
default, `read_ingest_settings` reads the environment over them."""

from dataclasses import dataclass, field

from service_common import service_ids
from service_common.readings import ReadingRules, read_reading_rules
from webhook.ingest_devices import fold
from webhook.ingest_users import IngestUser, patterns_problem, read_users_file, split_patterns

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_MAX_READINGS = 1000
DEFAULT_MAX_DEVICES_PER_USER = 100
DEFAULT_OUTBOX_DIR = "ingest-outbox"
DEFAULT_OUTBOX_WINDOW = 600.0  # s: twice the broker's autosave_interval
DEFAULT_OUTBOX_MAX_BYTES = 16 * 1024 * 1024
# The services that publish their counters on <sensors root>/<client id>/...: the prefix of their
# <prefix>_CLIENT_ID and its default. No ingest user may write these devices, whatever its
# patterns: it would forge their counters. Every service's default id is refused, and so is
# every configured one (<PREFIX>_CLIENT_ID).
SERVICE_CLIENT_IDS = service_ids.BY_PREFIX


@dataclass(frozen=True)
class IngestSettings:
    env_user: IngestUser | None = None  # INGEST_USERNAME / INGEST_PASSWORD / INGEST_DEVICES
    users_file: str | None = None       # INGEST_USERS_FILE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_readings: int = DEFAULT_MAX_READINGS
    rules: ReadingRules = field(default_factory=ReadingRules)
    service_devices: frozenset = service_ids.ALL
    # INGEST_RESERVED_DEVICES: patterns nobody may write; with the service ids, folded
    # (webhook/ingest_devices.py) to catch look-alikes.
    reserved_patterns: tuple = ()
    reserved_names: frozenset = frozenset(fold(name) for name in service_ids.ALL)
    max_devices_per_user: int = DEFAULT_MAX_DEVICES_PER_USER
    # webhook/ingest_outbox.py: where accepted readings are kept, for how long, how many bytes.
    outbox_dir: str = DEFAULT_OUTBOX_DIR
    outbox_window: float = DEFAULT_OUTBOX_WINDOW
    outbox_max_bytes: int = DEFAULT_OUTBOX_MAX_BYTES

    @property
    def enabled(self):
        return self.env_user is not None or self.users_file is not None


def read_ingest_settings(env, webhook):
    """IngestSettings from INGEST_* (and the listener's ts window); problems go to `env`."""
    username, password = env.str("INGEST_USERNAME"), env.str("INGEST_PASSWORD")
    # By default the user writes one device, named as the user, as a board's MQTT user does.
    patterns = split_patterns(env.str("INGEST_DEVICES") or username or "-")
    env_user = None
    if username and not password:  # a password alone (make secrets writes it) keeps it off
        env.problems.append("INGEST_USERNAME needs INGEST_PASSWORD (make secrets generates it)")
    elif username:
        env_user = IngestUser(username, patterns, password=password)
        if ":" in username:
            env.problems.append("INGEST_USERNAME must not contain ':'")
        if password == webhook.password or username == webhook.username:
            env.problems.append("INGEST_USERNAME/INGEST_PASSWORD must differ from Grafana's "
                                "WEBHOOK_USERNAME/WEBHOOK_PASSWORD")
    problem = patterns_problem(patterns)
    if problem:
        env.problems.append(f"INGEST_DEVICES {problem}")
    reserved = split_patterns(env.str("INGEST_RESERVED_DEVICES") or "")
    problem = reserved and patterns_problem(reserved)
    if problem:
        env.problems.append(f"INGEST_RESERVED_DEVICES {problem}")
    service_devices = frozenset({*service_ids.ALL, webhook.mqtt.client_id,
                                 *(env.str(f"{prefix}_CLIENT_ID") or default
                                   for prefix, default in SERVICE_CLIENT_IDS.items())})
    settings = IngestSettings(
        env_user=env_user,
        users_file=env.str("INGEST_USERS_FILE"),
        max_body_bytes=env.int("INGEST_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024,
                               webhook.max_body_bytes),
        max_readings=env.int("INGEST_MAX_READINGS", DEFAULT_MAX_READINGS, 1, 100_000),
        rules=read_reading_rules(env),
        service_devices=service_devices,
        reserved_patterns=reserved,
        reserved_names=frozenset(fold(name) for name in (*service_devices, *reserved)
                                 if not set("*?[") & set(name)),
        max_devices_per_user=env.int("INGEST_MAX_DEVICES_PER_USER",
                                     DEFAULT_MAX_DEVICES_PER_USER, 1, 100_000),
        outbox_dir=env.str("INGEST_OUTBOX_DIR", DEFAULT_OUTBOX_DIR),
        outbox_window=env.float("INGEST_OUTBOX_WINDOW", DEFAULT_OUTBOX_WINDOW, 10.0, 86400.0),
        outbox_max_bytes=env.int("INGEST_OUTBOX_MAX_BYTES", DEFAULT_OUTBOX_MAX_BYTES,
                                 64 * 1024, 2**31),
    )
    if settings.users_file:
        try:
            users = read_users_file(settings.users_file)
        except ValueError as error:
            env.problems.append(f"INGEST_USERS_FILE: {error}")
        else:
            if env_user is not None and env_user.name in users:
                env.problems.append(f"INGEST_USERNAME={env_user.name!r} is also a user of "
                                    "INGEST_USERS_FILE: the names must differ")
    return settings
