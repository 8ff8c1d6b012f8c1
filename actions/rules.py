"""The rule logic, pure: `step(outputs, world, event, now)` returns the new world and the effects
(commands to send, journal entries to write). No I/O and no clock: `now` is epoch seconds.

Per output, in this order:
1. an override whose `until` has passed goes back to auto;
2. the target: operator `off` -> off; `hand` -> its value; auto with the alarm state unknown
   (before the start-up grace ends, webhook not live, a followed topic without retained state)
   -> the safe state (`hold`: no command); auto otherwise -> on while any followed topic is on
   (inverted when asked);
3. interlocks hold an `on` target off while a named alert or another output is on (auto and hand);
4. in auto, min_on_s / min_off_s and the cap on switches per hour hold the current state
   (a refusal: counted, journaled once per episode); fail-safe and the operator are not held;
5. a new target is commanded; a command not confirmed within confirm_timeout_s is sent once
   more, then it is a mismatch. A device that later disagrees with what was commanded is treated
   the same way. Optimistic outputs (no state comes back) are never confirmed nor mismatched.
"""

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

ON, OFF, UNKNOWN = "on", "off", "unknown"
AUTO, HAND, OFF_MODE, FAILSAFE = "auto", "hand", "off", "failsafe"
OPERATOR_MODES = (AUTO, HAND, OFF_MODE)
HOUR_S = 3600.0
MAX_BY = 128
MAX_REASON = 500


# Events -------------------------------------------------------------------------------------

class Alarm(NamedTuple):
    """A retained alert or annunciator topic's payload; None when it was deleted."""
    topic: str
    payload: str | None


class Webhook(NamedTuple):
    live: bool


class Reported(NamedTuple):
    output_id: str
    value: object  # "on", "off", a number, or "unknown"


class Available(NamedTuple):
    output_id: str
    available: bool


class ModeRequest(NamedTuple):
    output_id: str
    request: dict  # from parse_mode_request


class Started(NamedTuple):
    """The start-up grace is over: reconcile from what the devices reported, then act."""
    restored: dict  # output id -> the last commanded value on disk (used for optimistic outputs)


class Tick(NamedTuple):
    pass


class Resync(NamedTuple):
    """Reconnected to the broker: forget the alarm state (a broker that lost its retained
    messages must not leave stale ones here) and wait, like at start-up, until it is known again
    or the grace ends, so a broker restart toggles nothing."""


# Effects ------------------------------------------------------------------------------------

class Command(NamedTuple):
    output_id: str
    value: object  # "on", "off" or a number
    resend: bool = False


class Journal(NamedTuple):
    kind: str  # command, override, refusal, mismatch, failsafe, reconcile
    subject: str
    text: str
    by: str | None = None


# State --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutputState:
    mode: str = AUTO            # the operator's: auto, hand or off
    override: dict | None = None  # {"mode", "value", "until", "by", "reason"}
    failsafe: bool = False      # auto, driven to the safe state because the alarm state is unknown
    commanded: object = None    # "on", "off", a number; None before the first command
    reported: object = UNKNOWN
    available: bool = False
    pending_since: float | None = None  # waiting for the device to agree since then
    resent: bool = False
    mismatch: bool = False
    last_switch: float | None = None
    switches: tuple = ()        # times of the switches of the last hour
    refusals: int = 0
    blocked: str | None = None  # the refusal in force, journaled once
    since: int = 0              # epoch ms of the last change of what actions/<id>/state shows

    @property
    def shown_mode(self):
        return FAILSAFE if self.failsafe and self.mode == AUTO else self.mode


@dataclass(frozen=True)
class World:
    alarms: dict = field(default_factory=dict)  # topic -> payload (retained state)
    webhook_live: bool = False
    started: bool = False
    outputs: dict = field(default_factory=dict)  # id -> OutputState


def initial_world(outputs, modes=None):
    """The world at start-up: each output's operator mode and override restored from disk."""
    states = {}
    for output in outputs:
        saved = (modes or {}).get(output.id) or {}
        mode = saved.get("mode", AUTO)
        states[output.id] = OutputState(mode=mode if mode in OPERATOR_MODES else AUTO,
                                        override=saved.get("override") if mode != AUTO else None,
                                        available=output.optimistic)
    return World(outputs=states)


def same(a, b, tolerance=1e-9):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=tolerance)
    return a == b


def is_on(value):
    """An output counts as on when it is `on` or a non-zero setpoint."""
    return value == ON or (isinstance(value, (int, float)) and value != 0)


def describe(value):
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


# Operator requests --------------------------------------------------------------------------

def parse_mode_request(payload, now):
    """The request in an `actions/<id>/mode/set` payload, or a string saying what is wrong.

    JSON {"mode": "auto"|"hand"|"off", "value": "on"|<number> (hand; default "on"),
    "until": <epoch ms> or null, "by": "<user>", "reason": "<text>"}."""
    import json

    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return f"not JSON: {error}"
    if not isinstance(document, dict):
        return "must be a JSON object"
    mode = document.get("mode")
    if mode not in OPERATOR_MODES:
        return f'"mode" must be one of {", ".join(OPERATOR_MODES)}, not {mode!r:.40}'
    value = document.get("value", ON if mode == HAND else None)
    if mode == HAND and not (value in (ON, OFF) or (type(value) in (int, float)
                                                    and math.isfinite(value))):
        return f'"value" must be "on", "off" or a number, not {value!r:.40}'
    until = document.get("until")
    if until is not None and (type(until) is not int or until <= now * 1000):
        return f'"until" must be epoch milliseconds in the future or null, not {until!r:.40}'
    by, reason = document.get("by"), document.get("reason", "")
    if not isinstance(by, str) or not 0 < len(by) <= MAX_BY:
        return f'"by" must be the operator, 1 to {MAX_BY} characters'
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        return f'"reason" must be text of at most {MAX_REASON} characters'
    return {"mode": mode, "value": value if mode == HAND else None, "until": until, "by": by,
            "reason": reason}


# The step -----------------------------------------------------------------------------------

def step(outputs, world, event, now):
    """(new world, [effects]) after `event` at `now` (epoch s); `outputs` is the config's."""
    effects = []
    by_id = {output.id: output for output in outputs}
    states = dict(world.outputs)
    if isinstance(event, Alarm):
        alarms = dict(world.alarms)
        if event.payload is None:
            alarms.pop(event.topic, None)
        else:
            alarms[event.topic] = event.payload
        world = replace(world, alarms=alarms)
    elif isinstance(event, Webhook):
        world = replace(world, webhook_live=event.live)
    elif isinstance(event, Reported) and event.output_id in states:
        state = states[event.output_id]
        states[event.output_id] = replace(state, reported=event.value,
                                          available=state.available or event.value != UNKNOWN)
    elif isinstance(event, Available) and event.output_id in states:
        state = states[event.output_id]
        states[event.output_id] = replace(state, available=event.available,
                                          reported=state.reported if event.available
                                          else UNKNOWN)
    elif isinstance(event, ModeRequest):
        _mode_request(by_id, states, event, now, effects)
    elif isinstance(event, Resync):
        world = replace(world, alarms={}, started=False)
    elif isinstance(event, Started):
        world = replace(world, started=True)
        for output in outputs:
            states[output.id] = _reconcile(output, states[output.id],
                                           event.restored.get(output.id), effects)
    world = replace(world, outputs=states)
    for output in outputs:
        before = world.outputs[output.id]
        after = _evaluate(output, world, before, now, effects)
        if after != before:
            world.outputs[output.id] = _stamp(before, after, now)
    return world, effects


def _stamp(before, after, now):
    shown = ("shown_mode", "commanded", "reported", "mismatch", "available", "override")
    if any(getattr(before, key) != getattr(after, key) for key in shown):
        return replace(after, since=int(now * 1000))
    return after


def _mode_request(by_id, states, event, now, effects):
    output, request = by_id.get(event.output_id), event.request
    if output is None:
        effects.append(Journal("refusal", event.output_id,
                               f"override {request['mode']} refused: no output "
                               f"{event.output_id!r}", request["by"]))
        return
    value = request["value"]
    if request["mode"] == HAND and isinstance(value, (int, float)):
        if not output.numeric:
            effects.append(Journal("refusal", output.id, f"hand {describe(value)} refused: "
                                   "only a setpoint output takes a number", request["by"]))
            return
        request = {**request, "value": output.normalize(output.clamp(float(value)))}
    state = states[output.id]
    override = None if request["mode"] == AUTO else request
    states[output.id] = replace(state, mode=request["mode"], override=override)
    until = request["until"]
    text = request["mode"] + (f" {describe(request['value'])}" if request["value"] is not None
                               else "")
    text += f" until {until} ms" if until is not None else ""
    text += f": {request['reason']}" if request["reason"] else ""
    effects.append(Journal("override", output.id, text, request["by"]))


def _reconcile(output, state, restored, effects):
    """At the end of the grace: adopt what the device reports, so nothing is re-commanded."""
    if output.optimistic:
        if restored is not None:
            effects.append(Journal("reconcile", output.id,
                                   f"optimistic: assumed {describe(restored)} as last commanded"))
            return replace(state, commanded=restored, reported=restored)
        return state
    if state.reported != UNKNOWN and state.commanded is None:
        effects.append(Journal("reconcile", output.id,
                               f"device reports {describe(state.reported)}: adopted"))
        return replace(state, commanded=state.reported)
    return state


def summary_topic(topic):
    """The alert's summary topic behind a per-device one: alerts/pot-high for
    alerts/pot-high/esp32-shed, alerts/pot-high/annunciator for .../esp32-shed/annunciator;
    None for a summary topic itself."""
    levels = topic.split("/")
    annunciator = levels[-1] == "annunciator"
    if len(levels) - annunciator < 3:
        return None
    return "/".join(levels[:2]) + ("/annunciator" if annunciator else "")


def alarm_value(world, topic):
    """The retained state of a followed topic; None when unknown. The webhook publishes a
    device's topic once its instance first fires: until then, a known summary topic (which the
    webhook sets at start-up for its known alerts) says the device's alarm is not active."""
    if topic in world.alarms:
        return world.alarms[topic]
    summary = summary_topic(topic)
    if summary is not None and summary in world.alarms:
        return "normal" if topic.endswith("/annunciator") else "0"
    return None


def _alarm_known(output, world):
    missing = [topic for topic in output.alarm_topics if alarm_value(world, topic) is None]
    if not world.webhook_live:
        return False, "webhook not live"
    if missing:
        return False, f"no retained state on {', '.join(missing)}"
    return True, ""


def _condition(output, world):
    on = any(alarm_value(world, f.topic) in f.on for f in output.follows)
    return on != output.invert


def _evaluate(output, world, state, now, effects):
    if not world.started:
        return state
    # 1. an override that expired
    override = state.override
    if override and override.get("until") is not None and now * 1000 >= override["until"]:
        effects.append(Journal("override", output.id, f"{override['mode']} expired: back to auto",
                               override.get("by")))
        state = replace(state, mode=AUTO, override=None)
    # 2. the target
    known, why = _alarm_known(output, world)
    failsafe = state.mode == AUTO and not known
    if failsafe != state.failsafe:
        text = (f"alarm state unknown ({why}): safe state {output.safe_state}" if failsafe
                else "alarm state known again: auto")
        effects.append(Journal("failsafe", output.id, text))
        state = replace(state, failsafe=failsafe)
    if state.mode == OFF_MODE:
        target, reason = OFF, "operator off"
    elif state.mode == HAND:
        target, reason = state.override["value"], "operator hand"
    elif failsafe:
        target = None if output.safe_state == "hold" else output.safe_state
        reason = "fail-safe"
    else:
        target = ON if _condition(output, world) else OFF
        reason = "auto"
    # 3. interlocks, 4. chatter and rate limits
    blocked = None
    if target is not None and is_on(target) and state.mode in (AUTO, HAND) and not failsafe:
        holders = [f.topic for f in output.interlock_alerts
                   if alarm_value(world, f.topic) in f.on]
        holders += [name for name in output.interlock_outputs
                    if is_on(world.outputs[name].commanded)
                    or is_on(world.outputs[name].reported)]
        if holders:
            blocked = f"interlock: held off while {', '.join(holders)} is on"
            target = OFF
    recent = tuple(t for t in state.switches if now - t < HOUR_S)
    changing = target is not None and not same(target, state.commanded, _tol(output))
    limited = state.mode == AUTO and not failsafe and state.commanded is not None
    if changing and blocked is None and limited:
        elapsed = now - state.last_switch if state.last_switch is not None else math.inf
        if is_on(state.commanded) and elapsed < output.min_on_s:
            blocked, target = f"min_on_s: on for {elapsed:.1f} s of {output.min_on_s:g} s", None
        elif not is_on(state.commanded) and elapsed < output.min_off_s:
            blocked, target = f"min_off_s: off for {elapsed:.1f} s of {output.min_off_s:g} s", None
        elif output.max_switches_per_hour and len(recent) >= output.max_switches_per_hour:
            blocked = f"max_switches_per_hour: {len(recent)} switches in the last hour"
            target = None
    if blocked != state.blocked:
        if blocked is not None:
            effects.append(Journal("refusal", output.id, f"{reason} switch refused: {blocked}"))
            state = replace(state, refusals=state.refusals + 1)
        state = replace(state, blocked=blocked)
    # 5. command, confirm
    if target is not None and not same(target, state.commanded, _tol(output)):
        effects.append(Command(output.id, target))
        effects.append(Journal("command", output.id, f"{describe(target)} ({reason})"))
        state = replace(state, commanded=target, pending_since=now, resent=False,
                        last_switch=now, switches=recent + (now,))
        if output.optimistic:
            state = replace(state, reported=target)
    elif recent != state.switches:
        state = replace(state, switches=recent)
    return _confirm(output, state, now, effects)


def _tol(output):
    return float(output.options.get("tolerance", 1e-9))


def _confirm(output, state, now, effects):
    if output.optimistic or state.commanded is None:
        return state
    if state.reported != UNKNOWN and same(state.reported, state.commanded, _tol(output)):
        if state.mismatch:
            effects.append(Journal("mismatch", output.id,
                                   f"cleared: device reports {describe(state.reported)}"))
        if state.pending_since is not None or state.mismatch or state.resent:
            state = replace(state, pending_since=None, resent=False, mismatch=False)
        return state
    if state.pending_since is None:
        if state.reported != UNKNOWN and not state.mismatch:
            state = replace(state, pending_since=now)  # the device disagrees: give it time
        return state
    if now - state.pending_since < output.confirm_timeout_s:
        return state
    if not state.resent:
        effects.append(Command(output.id, state.commanded, resend=True))
        effects.append(Journal("command", output.id,
                               f"{describe(state.commanded)} sent again: not confirmed within "
                               f"{output.confirm_timeout_s:g} s"))
        return replace(state, pending_since=now, resent=True)
    effects.append(Journal("mismatch", output.id,
                           f"commanded {describe(state.commanded)}, device reports "
                           f"{describe(state.reported)} after {output.confirm_timeout_s:g} s "
                           "and one resend"))
    return replace(state, pending_since=None, resent=False, mismatch=True)


def state_document(output, state):
    """The JSON object published retained on actions/<id>/state (CONTRACTS.md)."""
    confirmed = (not output.optimistic and state.commanded is not None
                 and state.reported != UNKNOWN
                 and same(state.reported, state.commanded, _tol(output)))
    return {"id": output.id, "kind": output.kind, "mode": state.shown_mode,
            "commanded": state.commanded, "reported": state.reported, "confirmed": confirmed,
            "optimistic": output.optimistic, "mismatch": state.mismatch,
            "available": state.available, "since": state.since, "override": state.override,
            "refusals": state.refusals, "safe_state": output.safe_state}
