"""The pure rule logic, table-driven: (world, event, now) -> (world, commands, journal)."""

import pytest

from actions import rules
from actions.config import parse_actions
from actions.rules import (
    Alarm,
    Available,
    Command,
    ModeRequest,
    Reported,
    Started,
    Tick,
    Webhook,
    parse_mode_request,
)

T0 = 1_800_000_000.0  # epoch s


def outputs(*entries):
    problems = []
    _, parsed = parse_actions({"outputs": list(entries)}, problems)
    assert not problems, problems
    return tuple(parsed)


def relay(output_id="fan", device="b1", **extra):
    return {"id": output_id, "kind": "board", "device": device,
            "follows": ["alerts/pot-high/esp32-shed"], **extra}


def run(config, steps, alarms=None, reported=None, live=True):
    """Start the world (alarms known, devices reporting), then feed `steps` of (seconds after
    T0, event); returns (world, [(t, effect)])."""
    world = rules.initial_world(config)
    log = []

    def feed(t, event):
        nonlocal world
        world, effects = rules.step(config, world, event, T0 + t)
        log.extend((t, e) for e in effects)

    for topic, payload in (alarms if alarms is not None else
                           {"alerts/pot-high/esp32-shed": "0"}).items():
        feed(0, Alarm(topic, payload))
    feed(0, Webhook(live))
    for output in config:
        value = (reported or {}).get(output.id, "off")
        if value is not None and not output.optimistic:
            feed(0, Reported(output.id, value))
    feed(0, Started({}))
    for t, event in steps:
        feed(t, event)
    return world, log


def commands(log):
    return [(t, e.output_id, e.value) + (("resend",) if e.resend else ())
            for t, e in log if isinstance(e, Command)]


def journal(log, kind=None):
    return [(t, e.kind, e.text) for t, e in log
            if isinstance(e, rules.Journal) and (kind is None or e.kind == kind)]


POT = "alerts/pot-high/esp32-shed"
ANN = "alerts/pot-high/esp32-shed/annunciator"

CASES = [
    # (name, outputs, initial alarms, initial reported, steps, expected commands)
    ("follows one topic", [relay()], None, None,
     [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")), (2, Alarm(POT, "0"))],
     [(1, "fan", "on"), (2, "fan", "off")]),
    ("any of several (OR)", [relay(follows=[POT, "alerts/door/x"])],
     {POT: "0", "alerts/door/x": "0"}, None,
     [(1, Alarm("alerts/door/x", "1")), (1.1, Reported("fan", "on")), (2, Alarm(POT, "1")),
      (3, Alarm("alerts/door/x", "0")), (4, Alarm(POT, "0"))],
     [(1, "fan", "on"), (4, "fan", "off")]),
    ("inverted", [relay(invert=True)], None, {"fan": "on"},
     [(1, Alarm(POT, "1")), (2, Alarm(POT, "0"))],
     [(1, "fan", "off"), (2, "fan", "on")]),
    ("horn while unacked", [relay(follows=[{"topic": ANN}])], {ANN: "normal"}, None,
     [(1, Alarm(ANN, "unacked")), (1.1, Reported("fan", "on")), (5, Alarm(ANN, "acked")),
      (6, Alarm(ANN, "normal"))],
     [(1, "fan", "on"), (5, "fan", "off")]),
    ("min_on_s holds on, then off", [relay(min_on_s=10)], None, None,
     [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")), (2, Alarm(POT, "0")), (5, Tick()),
      (11.5, Tick())],
     [(1, "fan", "on"), (11.5, "fan", "off")]),
    ("min_off_s holds off", [relay(min_off_s=10)], {POT: "1"}, {"fan": "on"},
     [(2, Alarm(POT, "0")), (2.1, Reported("fan", "off")),
      (3, Alarm(POT, "1")), (12.5, Tick())],
     [(2, "fan", "off"), (12.5, "fan", "on")]),
    ("cap on switches per hour", [relay(max_switches_per_hour=2)], None, None,
     [(1, Alarm(POT, "1")), (2, Alarm(POT, "0")), (3, Alarm(POT, "1")), (4, Alarm(POT, "0"))],
     [(1, "fan", "on"), (2, "fan", "off")]),
    ("interlock: an alert", [relay(interlock={"alerts": ["alerts/door"]})],
     {POT: "0", "alerts/door": "1"}, None,
     [(1, Alarm(POT, "1")), (2, Alarm("alerts/door", "0"))],
     [(2, "fan", "on")]),
    ("interlock: another output",
     [relay(), relay("pump", "b2", follows=["alerts/b"], interlock={"outputs": ["fan"]})],
     {POT: "0", "alerts/b": "0"}, None,
     [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")), (2, Alarm("alerts/b", "1")),
      (3, Alarm(POT, "0")), (3.1, Reported("fan", "off"))],
     [(1, "fan", "on"), (3, "fan", "off"), (3.1, "pump", "on")]),
    ("fail-safe off: webhook not live", [relay()], {POT: "1"}, {"fan": "on"},
     [(1, Webhook(False)), (2, Webhook(True))],
     [(1, "fan", "off"), (2, "fan", "on")]),
    ("fail-safe on: a followed topic deleted", [relay(safe_state="on")], None, None,
     [(1, Alarm(POT, None)), (2, Alarm(POT, "0"))],
     [(1, "fan", "on"), (2, "fan", "off")]),
    ("fail-safe hold: nothing sent", [relay(safe_state="hold")], {POT: "1"}, {"fan": "on"},
     [(1, Webhook(False)), (2, Alarm(POT, "0"))],
     []),
    ("fail-safe ignores min_on_s", [relay(min_on_s=100)], None, None,
     [(1, Alarm(POT, "1")), (2, Webhook(False))],
     [(1, "fan", "on"), (2, "fan", "off")]),
    ("not confirmed: one resend, then mismatch", [relay(confirm_timeout_s=5)], None, None,
     [(1, Alarm(POT, "1")), (5.9, Tick()), (6, Tick()), (10.9, Tick()), (11, Tick()),
      (20, Tick())],
     [(1, "fan", "on"), (6, "fan", "on", "resend")]),
    ("a stuck relay disagrees later", [relay(confirm_timeout_s=2)], {POT: "1"}, {"fan": "on"},
     [(1, Reported("fan", "off")), (3, Tick()), (5, Tick())],
     [(3, "fan", "on", "resend")]),
    ("a device topic not yet published: the summary says not active",
     [relay()], {"alerts/pot-high": "0"}, {"fan": "on"},
     [(1, Alarm("alerts/pot-high", "1")), (2, Alarm(POT, "1"))],
     [(0, "fan", "off"), (2, "fan", "on")]),
    ("no summary, no device topic: fail-safe", [relay(safe_state="on")],
     {"alerts/pot-high/other": "1"}, None, [], [(0, "fan", "on")]),
    ("an annunciator topic not yet published reads normal",
     [relay(follows=[{"topic": ANN}], safe_state="on")], {"alerts/pot-high/annunciator": "acked"},
     {"fan": "on"}, [(1, Alarm(ANN, "unacked"))], [(0, "fan", "off"), (1, "fan", "on")]),
    ("restart: the device already agrees", [relay()], {POT: "1"}, {"fan": "on"},
     [(1, Tick())], []),
    ("restart: the device disagrees", [relay()], {POT: "1"}, {"fan": "off"},
     [], [(0, "fan", "on")]),
    ("restart: a silent device is commanded", [relay()], {POT: "1"}, {"fan": None},
     [], [(0, "fan", "on")]),
]


@pytest.mark.parametrize("name, config, alarms, reported, steps, expected", CASES,
                         ids=[c[0] for c in CASES])
def test_rules(name, config, alarms, reported, steps, expected):
    _, log = run(outputs(*config), steps, alarms, reported)
    assert commands(log) == expected, journal(log)


def test_mismatch_is_shown_and_journaled_then_cleared():
    config = outputs(relay(confirm_timeout_s=5))
    world, log = run(config, [(1, Alarm(POT, "1")), (6, Tick()), (11, Tick())])
    document = rules.state_document(config[0], world.outputs["fan"])
    assert document["mismatch"] is True and document["confirmed"] is False
    assert [k for _, k, _ in journal(log, "mismatch")] == ["mismatch"]
    world, log = run(config, [(1, Alarm(POT, "1")), (6, Tick()), (11, Tick()),
                              (12, Reported("fan", "on"))])
    document = rules.state_document(config[0], world.outputs["fan"])
    assert (document["mismatch"], document["confirmed"]) == (False, True)
    assert "cleared" in journal(log, "mismatch")[-1][2]


def test_flapping_every_second_is_limited_and_refusals_counted():
    config = outputs(relay(min_on_s=5, min_off_s=5))
    steps = []
    for second in range(1, 31):
        steps.append((second, Alarm(POT, "1" if second % 2 else "0")))
        steps.append((second + 0.01, Reported("fan", "on" if second % 2 else "off")))
    world, log = run(config, steps)
    switched = [t for t, *_ in commands(log)]
    assert all(b - a >= 5 for a, b in zip(switched, switched[1:])), switched
    assert len(switched) <= 30 / 5 + 1
    assert world.outputs["fan"].refusals >= 10
    assert len(journal(log, "refusal")) == world.outputs["fan"].refusals


def test_cap_refusals_are_counted_and_journaled():
    config = outputs(relay(max_switches_per_hour=2))
    world, log = run(config, [(1, Alarm(POT, "1")), (2, Alarm(POT, "0")), (3, Alarm(POT, "1")),
                              (4, Alarm(POT, "0")), (5, Alarm(POT, "1"))])
    assert world.outputs["fan"].refusals == 2
    assert all("max_switches_per_hour" in text for _, _, text in journal(log, "refusal"))


def request(mode, **extra):
    return {"mode": mode, "value": extra.get("value", "on" if mode == "hand" else None),
            "until": extra.get("until"), "by": "alice", "reason": extra.get("reason", "")}


def test_hand_with_expiry_then_auto():
    config = outputs(relay())
    until = int((T0 + 10) * 1000)
    world, log = run(config, [(1, ModeRequest("fan", request("hand", until=until))),
                              (5, Tick()), (10, Tick())])
    assert commands(log) == [(1, "fan", "on"), (10, "fan", "off")]
    kinds = [(k, text) for _, k, text in journal(log) if k == "override"]
    assert kinds[0][1].startswith("hand on until") and "expired" in kinds[1][1]
    assert world.outputs["fan"].mode == "auto" and world.outputs["fan"].override is None


def test_operator_off_wins_over_the_alarm_and_failsafe():
    config = outputs(relay(safe_state="on"))
    world, log = run(config, [(1, ModeRequest("fan", request("off"))), (2, Alarm(POT, "1")),
                              (3, Webhook(False))])
    assert commands(log) == []
    assert rules.state_document(config[0], world.outputs["fan"])["mode"] == "off"


def test_hand_respects_interlocks():
    config = outputs(relay(interlock={"alerts": ["alerts/door"]}))
    _, log = run(config, [(1, ModeRequest("fan", request("hand")))],
                 alarms={POT: "0", "alerts/door": "1"})
    assert commands(log) == []
    assert "interlock" in journal(log, "refusal")[0][2]


def test_unknown_output_override_is_journaled_as_refusal():
    _, log = run(outputs(relay()), [(1, ModeRequest("nope", request("hand")))])
    assert journal(log, "refusal") == [(1, "refusal", "override hand refused: no output 'nope'")]


def test_hand_number_is_clamped_on_a_setpoint_output():
    config = outputs({"id": "sp", "kind": "opcua", "device": "tic101", "measurement": "sp",
                      "on_value": 20, "off_value": 50, "min": 0, "max": 100,
                      "follows": [POT]})
    world, log = run(config, [(1, ModeRequest("sp", request("hand", value=250)))],
                     reported={"sp": "off"})
    assert commands(log) == [(1, "sp", 100.0)]


def test_optimistic_output_is_never_confirmed_nor_mismatched():
    config = outputs({"id": "lamp", "kind": "mqtt", "command_topic": "lamp/set",
                      "follows": [POT]})
    world, log = run(config, [(1, Alarm(POT, "1")), (100, Tick())])
    document = rules.state_document(config[0], world.outputs["lamp"])
    assert commands(log) == [(0, "lamp", "off"), (1, "lamp", "on")]
    assert document["optimistic"] and not document["confirmed"] and not document["mismatch"]
    assert document["reported"] == "on"


def test_optimistic_restart_adopts_the_last_commanded_value():
    config = outputs({"id": "lamp", "kind": "mqtt", "command_topic": "lamp/set",
                      "follows": [POT]})
    world = rules.initial_world(config)
    world, _ = rules.step(config, world, Alarm(POT, "1"), T0)
    world, _ = rules.step(config, world, Webhook(True), T0)
    world, effects = rules.step(config, world, Started({"lamp": "on"}), T0)
    assert not [e for e in effects if isinstance(e, Command)]


def test_nothing_is_commanded_during_the_grace():
    config = outputs(relay())
    world = rules.initial_world(config)
    for event in (Alarm(POT, "1"), Webhook(True), Tick(), Available("fan", True)):
        world, effects = rules.step(config, world, event, T0)
        assert effects == []


def test_device_offline_makes_reported_unknown_without_mismatch():
    config = outputs(relay(confirm_timeout_s=1))
    world, log = run(config, [(1, Available("fan", False)), (10, Tick())])
    state = world.outputs["fan"]
    assert (state.reported, state.available, state.mismatch) == ("unknown", False, False)


def test_failsafe_transitions_are_journaled_once():
    _, log = run(outputs(relay()), [(1, Webhook(False)), (2, Tick()), (3, Webhook(True))])
    texts = [text for _, _, text in journal(log, "failsafe")]
    assert len(texts) == 2 and "webhook not live" in texts[0] and "known again" in texts[1]


NOW = T0


@pytest.mark.parametrize("payload, expected", [
    (b'{"mode": "hand", "by": "alice"}', {"mode": "hand", "value": "on", "until": None,
                                          "by": "alice", "reason": ""}),
    (b'{"mode": "auto", "by": "bob", "reason": "done"}', {"mode": "auto", "value": None,
                                                          "until": None, "by": "bob",
                                                          "reason": "done"}),
    (b'{"mode": "hand", "value": 12.5, "by": "a"}', {"mode": "hand", "value": 12.5,
                                                     "until": None, "by": "a", "reason": ""}),
    (b"nope", "not JSON"),
    (b"[]", "must be a JSON object"),
    (b'{"mode": "manual", "by": "a"}', '"mode" must be one of'),
    (b'{"mode": "hand", "value": "maybe", "by": "a"}', '"value" must be'),
    (b'{"mode": "off", "until": 5, "by": "a"}', '"until" must be epoch milliseconds'),
    (b'{"mode": "off"}', '"by" must be the operator'),
], ids=["hand-default-on", "auto", "hand-number", "not-json", "not-object", "bad-mode",
        "bad-value", "until-in-the-past", "no-by"])
def test_parse_mode_request(payload, expected):
    result = parse_mode_request(payload, NOW)
    if isinstance(expected, dict):
        assert result == expected
    else:
        assert isinstance(result, str) and result.startswith(expected), result


def test_a_resync_waits_and_a_broker_without_retained_state_is_fail_safe():
    config = outputs(relay(safe_state="off"))
    world, log = run(config, [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")),
                              (2, rules.Resync()), (3, Tick())])
    assert commands(log) == [(1, "fan", "on")]  # nothing while resyncing
    same_state, log = run(config, [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")),
                                   (2, rules.Resync()), (2.1, Alarm(POT, "1")),
                                   (3, Started({}))])
    assert commands(log) == [(1, "fan", "on")]  # the retained state came back: no toggle
    lost, log = run(config, [(1, Alarm(POT, "1")), (1.1, Reported("fan", "on")),
                             (2, rules.Resync()), (12, Started({}))])
    assert commands(log) == [(1, "fan", "on"), (12, "fan", "off")]  # lost: the safe state
