"""The actions service's settings: the environment (ACTIONS_*, MQTT_*) and the actions file,
read into one typed object and validated before any I/O. `read_settings()` raises one
ConfigError naming every bad setting, including every bad entry of the actions file."""

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from service_common import service_ids
from service_common.config import ConfigError, EnvReader
from service_common.mqtt import MqttSettings, read_mqtt_settings

KINDS = ("board", "tasmota", "shelly", "mqtt", "opcua")
SAFE_STATES = ("off", "on", "hold")
ANNUNCIATOR_STATES = ("normal", "unacked", "acked", "cleared-unacked", "shelved",
                      "out-of-service")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LEVEL = re.compile(r"^[^/+#\s]+$")
_TOPIC = re.compile(r"^[^+#\s]+$")

# Actions-file defaults: the one home of these numbers (docs/actions.md and the example show them).
CONFIRM_TIMEOUT_S = 5.0
GRACE_S = 10.0            # start-up: wait this long at most for retained topics and device states
READINGS_INTERVAL_S = 10.0  # output readings are sent on change and at least this often

_COMMON_KEYS = {"id", "kind", "follows", "invert", "safe_state", "confirm_timeout_s", "min_on_s",
                "min_off_s", "max_switches_per_hour", "interlock", "description"}
_KIND_KEYS = {
    "board": {"device", "relay"},
    "tasmota": {"topic", "relay"},
    "shelly": {"prefix", "switch"},
    "mqtt": {"command_topic", "payload_on", "payload_off", "command_template", "state_topic",
             "value_path", "state_on", "state_off", "on_value", "off_value", "min", "max",
             "tolerance", "availability_topic", "payload_available", "payload_not_available"},
    "opcua": {"bridge", "device", "measurement", "on_value", "off_value", "min", "max",
              "tolerance"},
}
_FILE_KEYS = {"outputs", "grace_s"}


@dataclass(frozen=True)
class Follow:
    """A retained topic an output follows, and the payloads that mean "on"."""
    topic: str
    on: tuple = ("1",)


@dataclass(frozen=True)
class Output:
    id: str
    kind: str
    follows: tuple = ()           # of Follow: the condition is on while any of them is on
    invert: bool = False
    safe_state: str = "off"
    confirm_timeout_s: float = CONFIRM_TIMEOUT_S
    min_on_s: float = 0.0
    min_off_s: float = 0.0
    max_switches_per_hour: int = 0  # 0: no cap
    interlock_alerts: tuple = ()    # of Follow: held off while any is on
    interlock_outputs: tuple = ()   # output ids: held off while any is on
    options: dict = field(default_factory=dict, compare=False)  # the kind's own keys

    @property
    def optimistic(self):
        """No state comes back: shown as optimistic, never as confirmed."""
        return self.kind == "mqtt" and "state_topic" not in self.options

    @property
    def numeric(self):
        """A setpoint output: on and off are numbers, and hand may send any number."""
        return "on_value" in self.options

    def clamp(self, value):
        low, high = self.options.get("min"), self.options.get("max")
        return min(max(value, low), high) if low is not None and high is not None else value

    def normalize(self, value):
        """A setpoint output's number as `on` / `off` when it is its on_value / off_value."""
        if self.numeric and isinstance(value, (int, float)):
            tolerance = float(self.options.get("tolerance", 1e-9))
            for name, key in (("on", "on_value"), ("off", "off_value")):
                if abs(value - self.options[key]) <= tolerance:
                    return name
        return value

    @property
    def alarm_topics(self):
        return tuple(f.topic for f in self.follows + self.interlock_alerts)


@dataclass(frozen=True)
class ActionsSettings:
    mqtt: MqttSettings
    outputs: tuple = ()
    actions_file: Path = Path("actions.yaml")
    state_dir: Path = Path("actions-state")
    webhook_id: str = service_ids.WEBHOOK
    grace_s: float = GRACE_S
    readings_interval_s: float = READINGS_INTERVAL_S
    tick_s: float = 0.1
    heartbeat: Path = Path("/tmp/actions.heartbeat")  # noqa: S108 - a tmpfs in the image
    log_level: str = "INFO"

    @property
    def status_topic(self):
        return self.mqtt.status_topic

    @property
    def webhook_status_topic(self):
        return f"{self.mqtt.status_root}/{self.webhook_id}"


def read_settings(environ=None, with_outputs=True):
    """ActionsSettings from the environment and the actions file; ConfigError names every
    problem. with_outputs=False skips the actions file."""
    env = EnvReader(environ)
    mqtt = read_mqtt_settings(env, "ACTIONS", service_ids.ACTIONS)
    if not _LEVEL.match(mqtt.client_id):
        env.problems.append(f"ACTIONS_CLIENT_ID={mqtt.client_id!r} must be one topic level")
    webhook_id = env.str("WEBHOOK_CLIENT_ID", service_ids.WEBHOOK)
    if not _LEVEL.match(webhook_id):
        env.problems.append(f"WEBHOOK_CLIENT_ID={webhook_id!r} must be one topic level")
    settings = ActionsSettings(
        mqtt=mqtt,
        actions_file=Path(env.str("ACTIONS_FILE", "actions.yaml")),
        state_dir=Path(env.str("ACTIONS_STATE_DIR", "actions-state")),
        webhook_id=webhook_id,
        readings_interval_s=env.float("ACTIONS_READINGS_INTERVAL_S", READINGS_INTERVAL_S, 1.0,
                                      3600.0),
        heartbeat=Path(env.str("ACTIONS_HEARTBEAT", "/tmp/actions.heartbeat")),  # noqa: S108
        log_level=env.log_level("ACTIONS_LOG_LEVEL", "INFO"),
    )
    if with_outputs:
        grace, outputs = read_actions_file(settings.actions_file, env.problems)
        settings = replace(settings, grace_s=grace, outputs=tuple(outputs))
    env.check()
    return settings


def read_actions_file(path, problems):
    """(grace_s, [Output]) from the YAML actions file; problems are appended."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"ACTIONS_FILE={str(path)!r}: cannot read it ({error.strerror})")
        return GRACE_S, []
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}".replace("\n", " "))
        return GRACE_S, []
    return parse_actions(document, problems, where=str(path))


def parse_actions(document, problems, where="actions file"):
    """(grace_s, [Output]) from a parsed actions file; problems are appended."""
    if not isinstance(document, dict):
        problems.append(f"{where}: must be a mapping with `outputs:`")
        return GRACE_S, []
    _unknown(document, _FILE_KEYS, where, problems)
    grace = _number(document, "grace_s", GRACE_S, where, problems, minimum=0, maximum=600)
    entries = document.get("outputs")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{where}: `outputs:` must be a list of at least one output")
        return grace, []
    outputs = []
    for i, entry in enumerate(entries):
        output = _output(entry, f"{where}: outputs[{i}]", problems)
        if output is not None:
            outputs.append(output)
    _check_across(outputs, where, problems)
    return grace, outputs


def _output(entry, at, problems):
    if not isinstance(entry, dict):
        problems.append(f"{at}: must be a mapping with id, kind and follows")
        return None
    output_id = entry.get("id")
    if not isinstance(output_id, str) or not _ID.match(output_id):
        problems.append(f"{at}: id {output_id!r} must be 1-64 of a-z 0-9 _ - (topic-safe), "
                        "starting with a letter or digit")
    else:
        at = f"{at} ({output_id})"
    kind = entry.get("kind")
    if kind not in KINDS:
        problems.append(f"{at}: kind {kind!r} must be one of {', '.join(KINDS)}")
        return None
    _unknown(entry, _COMMON_KEYS | _KIND_KEYS[kind], at, problems)
    follows = _follows(entry.get("follows"), "follows", at, problems, required=True)
    safe_state = entry.get("safe_state", "off")
    if safe_state is False:  # YAML 1.1 reads an unquoted off as false
        safe_state = "off"
    elif safe_state is True:
        safe_state = "on"
    if safe_state not in SAFE_STATES:
        problems.append(f"{at}: safe_state {safe_state!r} must be one of "
                        f"{', '.join(SAFE_STATES)}")
    invert = entry.get("invert", False)
    if not isinstance(invert, bool):
        problems.append(f"{at}: invert must be true or false, not {invert!r}")
    interlock = entry.get("interlock") or {}
    interlock_alerts, interlock_outputs = (), ()
    if not isinstance(interlock, dict) or set(interlock) - {"alerts", "outputs"}:
        problems.append(f"{at}: interlock must be a mapping with `alerts:` and/or `outputs:`")
    else:
        interlock_alerts = _follows(interlock.get("alerts"), "interlock.alerts", at, problems)
        names = interlock.get("outputs") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"{at}: interlock.outputs must be a list of output ids")
        else:
            interlock_outputs = tuple(names)
    options = {key: entry[key] for key in _KIND_KEYS[kind] if key in entry}
    _check_kind(kind, options, at, problems)
    if not isinstance(output_id, str):
        return None
    return Output(
        id=output_id, kind=kind, follows=follows, invert=invert is True,
        safe_state=safe_state if safe_state in SAFE_STATES else "off",
        confirm_timeout_s=_number(entry, "confirm_timeout_s", CONFIRM_TIMEOUT_S, at, problems,
                                  minimum=0.1, maximum=3600),
        min_on_s=_number(entry, "min_on_s", 0.0, at, problems, minimum=0, maximum=86400),
        min_off_s=_number(entry, "min_off_s", 0.0, at, problems, minimum=0, maximum=86400),
        max_switches_per_hour=int(_number(entry, "max_switches_per_hour", 0, at, problems,
                                          minimum=0, maximum=3600, integer=True)),
        interlock_alerts=interlock_alerts, interlock_outputs=interlock_outputs,
        options=options,
    )


def _follows(value, key, at, problems, required=False):
    """Follow entries: a topic (on while `1`), or {topic, when: [payloads]} such as an
    annunciator topic on while `unacked` (not `on:`, which YAML reads as true)."""
    if value is None and not required:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or (required and not value):
        problems.append(f"{at}: {key} must be a list of alert topics"
                        + (" (at least one)" if required else ""))
        return ()
    follows = []
    for j, item in enumerate(value):
        where = f"{at}: {key}[{j}]"
        if isinstance(item, str):
            item = {"topic": item}
        if not isinstance(item, dict) or set(item) - {"topic", "when"}:
            problems.append(f"{where}: must be a topic, or a mapping with topic and when")
            continue
        topic = item.get("topic")
        if not isinstance(topic, str) or not _TOPIC.match(topic) or topic.startswith("/"):
            problems.append(f"{where}: topic {topic!r} must be a topic without wildcards")
            continue
        annunciator = topic.endswith("/annunciator")
        default_on = ["unacked"] if annunciator else ["1"]
        on = item.get("when", default_on)
        if isinstance(on, str):
            on = [on]
        if not isinstance(on, list) or not on or not all(isinstance(p, str) for p in on):
            problems.append(f"{where}: when must be a list of payloads such as [\"1\"] or "
                            "[unacked] (quote on, off, yes, no)")
            continue
        if annunciator and set(on) - set(ANNUNCIATOR_STATES):
            problems.append(f"{where}: when {on!r}: an annunciator topic's states are "
                            f"{', '.join(ANNUNCIATOR_STATES)}")
            continue
        follows.append(Follow(topic, tuple(on)))
    return tuple(follows)


def _check_kind(kind, options, at, problems):
    if kind == "board":
        _text(options, "device", at, problems, level=True)
        _integer(options, "relay", 1, at, problems, minimum=1, maximum=64)
    elif kind == "tasmota":
        _text(options, "topic", at, problems, level=True)
        _integer(options, "relay", 1, at, problems, minimum=1, maximum=32)
    elif kind == "shelly":
        _text(options, "prefix", at, problems)
        _integer(options, "switch", 0, at, problems, minimum=0, maximum=15)
    elif kind == "mqtt":
        _text(options, "command_topic", at, problems)
        for key in ("state_topic", "availability_topic"):
            if key in options:
                _text(options, key, at, problems)
        for key in ("payload_on", "payload_off", "state_on", "state_off", "payload_available",
                    "payload_not_available", "value_path", "command_template"):
            if key in options and not isinstance(options[key], str):
                problems.append(f"{at}: {key} {options[key]!r} must be text: quote it (YAML reads "
                                "unquoted on, off, yes and no as true or false)")
        template = options.get("command_template")
        if isinstance(template, str) and "{value}" not in template:
            problems.append(f"{at}: command_template {template!r} must contain {{value}}")
        _numeric(options, at, problems, need_values="on_value" in options
                 or "off_value" in options or "min" in options or "max" in options)
    elif kind == "opcua":
        _text(options, "device", at, problems, level=True)
        _text(options, "measurement", at, problems, level=True)
        if "bridge" in options:
            _text(options, "bridge", at, problems, level=True)
        _numeric(options, at, problems, need_values=True)


def _numeric(options, at, problems, need_values):
    """A setpoint output: on_value and off_value inside [min, max] when both limits are given."""
    if not need_values:
        return
    values = {}
    for key in ("on_value", "off_value", "min", "max", "tolerance"):
        if key in options:
            value = options[key]
            if type(value) not in (int, float) or not math.isfinite(value):
                problems.append(f"{at}: {key} must be a number, not {value!r}")
            else:
                values[key] = float(value)
    for key in ("on_value", "off_value", "min", "max"):
        if key not in options:
            problems.append(f"{at}: {key} is required for a numeric output (limits clamp every "
                            "value sent)")
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None:
        if low > high:
            problems.append(f"{at}: min {low:g} is above max {high:g}")
        for key in ("on_value", "off_value"):
            if key in values and not low <= values[key] <= high:
                problems.append(f"{at}: {key} {values[key]:g} is outside [{low:g}, {high:g}]")
    if values.get("tolerance", 0) < 0:
        problems.append(f"{at}: tolerance must not be negative")


def _check_across(outputs, where, problems):
    seen = set()
    for output in outputs:
        if output.id in seen:
            problems.append(f"{where}: output id {output.id!r} is used twice")
        seen.add(output.id)
    targets = {}
    for output in outputs:
        for name in output.interlock_outputs:
            if name not in seen:
                problems.append(f"{where}: {output.id}: interlock.outputs names {name!r}, which "
                                "is no output")
            elif name == output.id:
                problems.append(f"{where}: {output.id}: an output cannot interlock itself")
        target = _target(output)
        if target in targets:
            problems.append(f"{where}: {output.id} and {targets[target]} drive the same device "
                            f"({target})")
        targets[target] = output.id


def _target(output):
    o = output.options
    return {"board": lambda: f"board {o.get('device')} relay {o.get('relay', 1)}",
            "tasmota": lambda: f"tasmota {o.get('topic')} POWER{o.get('relay', 1)}",
            "shelly": lambda: f"shelly {o.get('prefix')} switch {o.get('switch', 0)}",
            "mqtt": lambda: f"mqtt {o.get('command_topic')}",
            "opcua": lambda: f"opcua {o.get('bridge')} {o.get('device')}/{o.get('measurement')}",
            }[output.kind]()


def _unknown(mapping, known, at, problems):
    for key in mapping:
        if key not in known:
            problems.append(f"{at}: unknown key {key!r} (known: {', '.join(sorted(known))})")


def _text(options, key, at, problems, level=False, required=True):
    value = options.get(key)
    if value is None and not required:
        return None
    pattern = _LEVEL if level else _TOPIC
    if not isinstance(value, str) or not pattern.match(value):
        what = "one topic level (no / + # or spaces)" if level else "a topic without wildcards"
        problems.append(f"{at}: {key} {value!r} must be {what}")
        return None
    return value


def _integer(options, key, default, at, problems, minimum, maximum):
    value = options.get(key, default)
    if type(value) is not int or not minimum <= value <= maximum:
        problems.append(f"{at}: {key} {value!r} must be an integer from {minimum} to {maximum}")
        return default
    return value


def _number(mapping, key, default, at, problems, minimum=None, maximum=None, integer=False):
    value = mapping.get(key, default)
    kinds = (int,) if integer else (int, float)
    if type(value) not in kinds or not math.isfinite(value):
        problems.append(f"{at}: {key} {value!r} must be {'an integer' if integer else 'a number'}")
        return default
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        problems.append(f"{at}: {key} {value!r} must be from {minimum} to {maximum}")
        return default
    return value


__all__ = ["ActionsSettings", "ConfigError", "Follow", "Output", "read_settings",
           "parse_actions"]
