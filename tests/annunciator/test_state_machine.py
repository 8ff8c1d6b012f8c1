"""The pure ISA-18.2 state machine: every transition of both sequences, the summary, acks."""

import json

import pytest

from service_common.journal import ACKED, CLEARED_UNACKED, NORMAL, STATES, UNACKED
from webhook.annunciator import (
    ACK,
    CLEAR,
    EVENTS,
    FIRE,
    Annunciator,
    Transition,
    UnknownAlarm,
    active_instances,
    next_state,
    summary_state,
)
from webhook.topics import device_problem, parse_ack_topic

# (state, event) -> next state, for every pair: the full table, not only the changes.
ISA = {
    (NORMAL, FIRE): UNACKED, (NORMAL, CLEAR): NORMAL, (NORMAL, ACK): NORMAL,
    (UNACKED, FIRE): UNACKED, (UNACKED, CLEAR): CLEARED_UNACKED, (UNACKED, ACK): ACKED,
    (ACKED, FIRE): ACKED, (ACKED, CLEAR): NORMAL, (ACKED, ACK): ACKED,
    (CLEARED_UNACKED, FIRE): UNACKED, (CLEARED_UNACKED, CLEAR): CLEARED_UNACKED,
    (CLEARED_UNACKED, ACK): NORMAL,
}
RINGBACK = {**ISA, (ACKED, CLEAR): CLEARED_UNACKED}
TABLE = [(seq, state, event, expected)
         for seq, table in (("isa", ISA), ("ringback", RINGBACK))
         for (state, event), expected in table.items()]


def test_the_table_covers_every_state_and_event():
    assert set(ISA) == {(s, e) for s in STATES for e in EVENTS}


@pytest.mark.parametrize("sequence, state, event, expected", TABLE,
                         ids=[f"{q}-{s}-{e}" for q, s, e, _ in TABLE])
def test_every_transition(sequence, state, event, expected):
    assert next_state(state, event, sequence) == expected


def walk(sequence, events, device=None):
    """The states a single-instance alert goes through."""
    annunciator = Annunciator(sequence)
    states = []
    for event in events:
        if event == ACK:
            annunciator.acknowledge("pot-high", device)
        else:
            annunciator.update("pot-high", {device: event == FIRE})
        states.append(annunciator.state("pot-high", device))
    return states


STORIES = [
    ("isa", [FIRE, ACK, CLEAR], [UNACKED, ACKED, NORMAL]),
    ("isa", [FIRE, CLEAR, ACK], [UNACKED, CLEARED_UNACKED, NORMAL]),
    ("isa", [FIRE, CLEAR, FIRE, ACK], [UNACKED, CLEARED_UNACKED, UNACKED, ACKED]),
    ("ringback", [FIRE, ACK, CLEAR, ACK], [UNACKED, ACKED, CLEARED_UNACKED, NORMAL]),
    ("ringback", [FIRE, ACK, CLEAR, FIRE], [UNACKED, ACKED, CLEARED_UNACKED, UNACKED]),
]


@pytest.mark.parametrize("sequence, events, states", STORIES,
                         ids=[f"{s[0]}-" + "-".join(s[1]) for s in STORIES])
@pytest.mark.parametrize("device", [None, "esp32-a1"], ids=["no-device", "device"])
def test_stories_for_a_summary_and_a_device(sequence, events, states, device):
    assert walk(sequence, events, device) == states


SUMMARIES = [
    ([], NORMAL),
    ([NORMAL, NORMAL], NORMAL),
    ([UNACKED, NORMAL], UNACKED),
    ([ACKED, NORMAL], ACKED),
    ([CLEARED_UNACKED, NORMAL], CLEARED_UNACKED),
    ([ACKED, CLEARED_UNACKED], UNACKED),  # active, and something waits for an ack
    ([ACKED, UNACKED], UNACKED),
    ([ACKED, ACKED], ACKED),
]


@pytest.mark.parametrize("states, expected", SUMMARIES,
                         ids=["none", "all-normal", "one-unacked", "one-acked",
                              "one-cleared-unacked", "acked-and-cleared-unacked",
                              "acked-and-unacked", "all-acked"])
def test_summary_follows_its_instances(states, expected):
    assert summary_state(states) == expected


def two_devices():
    annunciator = Annunciator()
    annunciator.update("pot-high", {None: False, "a": True, "b": True})
    return annunciator


def test_firing_devices_journal_each_instance_then_the_summary():
    annunciator = Annunciator()
    assert annunciator.update("pot-high", {None: False, "a": True, "b": False}) == [
        Transition("pot-high", "a", NORMAL, UNACKED, None),
        Transition("pot-high", None, NORMAL, UNACKED, None),
    ]


def test_acknowledging_the_alert_acknowledges_every_device():
    annunciator = two_devices()
    assert annunciator.acknowledge("pot-high", by="esp8266-1") == [
        Transition("pot-high", "a", UNACKED, ACKED, "esp8266-1"),
        Transition("pot-high", "b", UNACKED, ACKED, "esp8266-1"),
        Transition("pot-high", None, UNACKED, ACKED, "esp8266-1"),
    ]
    assert annunciator.acknowledge("pot-high", by="esp8266-1") == []  # idempotent


def test_the_summary_is_acknowledged_once_its_last_device_is():
    annunciator = two_devices()
    assert annunciator.acknowledge("pot-high", "a", by="op") == [
        Transition("pot-high", "a", UNACKED, ACKED, "op")]
    assert annunciator.state("pot-high") == UNACKED
    assert annunciator.acknowledge("pot-high", "b", by="op") == [
        Transition("pot-high", "b", UNACKED, ACKED, "op"),
        Transition("pot-high", None, UNACKED, ACKED, "op")]
    assert annunciator.acknowledge("pot-high", "b", by="op") == []


def test_a_new_device_firing_makes_an_acknowledged_summary_flash_again():
    annunciator = Annunciator()
    annunciator.update("pot-high", {None: False, "a": True})
    annunciator.acknowledge("pot-high")
    transitions = annunciator.update("pot-high", {None: False, "a": True, "b": True})
    assert transitions == [Transition("pot-high", "b", NORMAL, UNACKED, None),
                           Transition("pot-high", None, ACKED, UNACKED, None)]


def test_instances_without_device_count_in_the_summary():
    annunciator = Annunciator()
    annunciator.update("pot-high", {None: True, "a": True})
    annunciator.acknowledge("pot-high", "a")
    assert annunciator.state("pot-high") == UNACKED  # the device-less instance still waits
    annunciator.update("pot-high", {None: False, "a": True})
    assert annunciator.state("pot-high") == UNACKED  # ... cleared, still unacknowledged
    annunciator.acknowledge("pot-high")
    assert annunciator.state("pot-high") == ACKED


@pytest.mark.parametrize("alert, device", [("other", None), ("pot-high", "nobody")],
                         ids=["unknown-alert", "unknown-device"])
def test_acknowledging_the_unknown_is_refused(alert, device):
    with pytest.raises(UnknownAlarm):
        two_devices().acknowledge(alert, device)


def test_topic_values_summary_and_devices():
    annunciator = two_devices()
    annunciator.acknowledge("pot-high", "a")
    assert annunciator.topic_values({"pot-high"}, "alerts") == {
        "alerts/pot-high/annunciator": UNACKED,
        "alerts/pot-high/a/annunciator": ACKED,
        "alerts/pot-high/b/annunciator": UNACKED,
    }


def test_document_round_trip_through_json():
    annunciator = two_devices()
    annunciator.acknowledge("pot-high", "a")
    annunciator.update("pot-high", {None: True, "a": False, "b": True})
    restored = Annunciator("ringback")
    restored.restore(json.loads(json.dumps(annunciator.document())))
    assert restored.instances == annunciator.instances
    assert restored.topic_values({"pot-high"}, "x") == annunciator.topic_values({"pot-high"}, "x")


@pytest.mark.parametrize("document", [
    [], {"a": []}, {"a": {"own": "red", "devices": {}}}, {"a": {"own": NORMAL}},
    {"a": {"own": NORMAL, "devices": {"d": "green"}}}, {"a": {"own": NORMAL, "devices": []}},
], ids=["array", "entry-not-object", "bad-own", "no-devices", "bad-device-state",
        "devices-not-object"])
def test_a_broken_document_is_refused_and_changes_nothing(document):
    annunciator = two_devices()
    before = dict(annunciator.instances)
    with pytest.raises(ValueError):
        annunciator.restore(document)
    assert annunciator.instances == before


def test_active_instances_from_the_store():
    firing = {"fp1": "a", "fp2": None}
    assert active_instances(firing, {"a", "b"}) == {"a": True, "b": False, None: True}
    assert active_instances({}, set()) == {None: False}


@pytest.mark.parametrize("topic, target", [
    ("alerts/pot-high/ack", ("pot-high", None, None)),
    ("alerts/pot-high/esp32-a1/ack", ("pot-high", "esp32-a1", None)),
    ("alerts/pot-high/ack/esp8266-b2", ("pot-high", None, "esp8266-b2")),
    ("alerts/pot-high/esp32-a1/ack/console", ("pot-high", "esp32-a1", "console")),
    ("alerts/pot-high/ack/ack", None),
    ("alerts/pot-high/esp32-a1/ack/x/y", None),
    ("alerts/pot-high", None),
    ("alerts/pot-high/annunciator", None),
    ("alerts//ack", None),
    ("alerts/a/b/c/ack", None),
    ("sensors/a/ack", None),
    ("alerts/Pot/ack", None),
], ids=["alert", "device", "sender", "device-sender", "sender-reserved", "sender-too-deep",
        "no-ack", "annunciator", "empty-alert", "too-deep", "other-root",
        "not-topic-safe"])
def test_ack_topics(topic, target):
    assert parse_ack_topic(topic, "alerts") == target


def test_unknown_sequence_is_refused():
    with pytest.raises(ValueError):
        Annunciator("blink")


@pytest.mark.parametrize("device", ["ack", "annunciator"])
def test_no_device_may_take_the_annunciators_topic_levels(device):
    assert device_problem(device)


def test_forgetting_drops_only_what_waits_for_nothing():
    annunciator = Annunciator()
    annunciator.update("pot-high", {None: False, "a": True, "b": True})
    annunciator.acknowledge("pot-high", "a")
    annunciator.update("pot-high", {None: False, "a": False, "b": False})  # a normal, b waits
    annunciator.update("gone", {None: False, "c": False})
    annunciator.forget({"pot-high": set()})
    assert annunciator.instances == {"pot-high": {None: NORMAL, "b": CLEARED_UNACKED}}
    annunciator.acknowledge("pot-high")
    annunciator.forget({})
    assert annunciator.instances == {}


def test_over_the_cap_waiting_instances_of_forgotten_devices_go_too():
    """A flood of devices that fire and clear unacknowledged cannot grow the state without
    bound: beyond `limit` device instances, those the alert store forgot are dropped."""
    annunciator = Annunciator()
    devices = {f"d{i}": True for i in range(5)}
    annunciator.update("pot-high", {None: False, **devices})
    annunciator.update("pot-high", {None: False, **dict.fromkeys(devices, False)})
    assert annunciator.forget({"pot-high": {"d3", "d4"}}, limit=3) == 2
    assert annunciator.instances["pot-high"] == {None: NORMAL, "d2": CLEARED_UNACKED,
                                                 "d3": CLEARED_UNACKED, "d4": CLEARED_UNACKED}
    assert annunciator.forget({"pot-high": {"d3", "d4"}}, limit=3) == 0


def test_a_forgotten_alert_stays_while_it_waits_for_an_acknowledgement():
    annunciator = Annunciator()
    annunciator.update("pot-high", {None: True})
    annunciator.update("pot-high", {None: False})
    annunciator.forget({})
    assert annunciator.state("pot-high") == CLEARED_UNACKED
    annunciator.acknowledge("pot-high")
    annunciator.forget({})
    assert annunciator.instances == {}
