"""Typed settings from environment variables, validated before any I/O.

Every problem is collected, then one ConfigError names them all.

The one idiom of every service's reader: its settings are a frozen dataclass that holds each
default once, on its field; the reader takes them from there and passes no literal default:

    default = defaults(ListenerSettings)
    batch_size = env.int("LISTENER_BATCH_SIZE", default.batch_size, 1, 100_000)
"""

import dataclasses
import math
import os
import re
from types import SimpleNamespace


class ConfigError(Exception):
    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


# InfluxQL durations: INF, or one or more <integer><unit> groups such as 30d, 1h30m.
DURATION = re.compile(r"^(INF|(\d+(ns|u|µ|ms|s|m|h|d|w))+)$", re.ASCII)
_UNIT_SECONDS = {"ns": 1e-9, "u": 1e-6, "µ": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                 "d": 86400, "w": 604800}


def duration_seconds(text):
    """Seconds in an InfluxQL duration such as `1h30m` (None for INF)."""
    if text == "INF":
        return None
    groups = re.findall(r"(\d+)(ns|u|µ|ms|s|m|h|d|w)", text, re.ASCII)
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in groups)


def retention_problem(name, value):
    """Why `value` is no InfluxDB retention duration (INF, or at least 1h), or None."""
    if not DURATION.match(value):
        return f"{name}={value!r} must be an InfluxDB duration such as 30d, 520w or INF"
    if value != "INF" and duration_seconds(value) < 3600:
        return f"{name}={value!r} must be at least 1h (InfluxDB's minimum)"
    return None


def defaults(settings_class):
    """The defaults of a settings dataclass by field name (`defaults(X).port`); fields without
    one (required, or computed by the reader) are absent."""
    values = {}
    for field in dataclasses.fields(settings_class):
        if field.default is not dataclasses.MISSING:
            values[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            values[field.name] = field.default_factory()
    return SimpleNamespace(**values)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvReader:
    """Reads typed values from an environment mapping, recording every problem."""

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ
        self.problems = []

    def raw(self, name):
        """The stripped value, None when unset or blank. Every read goes through here."""
        value = self.environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def str(self, name, default=None, required=False):
        value = self.raw(name)
        if value is None:
            if required:
                self.problems.append(f"{name} is required")
            return default
        return value

    def number(self, name, default, kind=float, minimum=None, maximum=None):
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = kind(value)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not a valid {kind.__name__}")
            return default
        if kind is float and not math.isfinite(number):
            self.problems.append(f"{name}={value!r} must be finite")
        elif minimum is not None and number < minimum:
            self.problems.append(f"{name}={value!r} must be at least {minimum}")
        elif maximum is not None and number > maximum:
            self.problems.append(f"{name}={value!r} must be at most {maximum}")
        return number

    def int(self, name, default, minimum=None, maximum=None):
        return self.number(name, default, int, minimum, maximum)

    def float(self, name, default, minimum=None, maximum=None):
        return self.number(name, default, float, minimum, maximum)

    def bool(self, name, default):
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problems.append(f"{name}={value!r} must be true or false")
        return default

    def str_or_off(self, name, default):
        """Like str(), except that set but empty means None (turned off), not the default."""
        value = self.raw(name)
        if value is None:
            return None if name in self.environ else default
        return value

    def log_level(self, name, default="INFO"):
        """One of LOG_LEVELS, case-insensitive."""
        level = self.str(name, default).upper()
        if level not in LOG_LEVELS:
            self.problems.append(f"{name}={level!r} must be one of {', '.join(LOG_LEVELS)}")
        return level

    def list(self, name, default):
        value = self.raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def check(self):
        if self.problems:
            # Two parts reading the same variable report its problem once.
            raise ConfigError(dict.fromkeys(self.problems))
