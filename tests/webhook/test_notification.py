"""Payload -> instance updates, table-driven, on Grafana's own payloads and variants of them."""

import random

import pytest

from tests.support.webhook import (
    FIXTURE_NAMES,
    grouped,
    instance,
    load_payload,
    mutate,
    random_json,
    unified,
)
from webhook.notification import (
    InstanceUpdate,
    NotANotification,
    labels_fingerprint,
    parse,
)
from webhook.state import AlertStore
from webhook.topics import topic_safe


def _legacy(state, **fields):
    body = load_payload("legacy_docs_alerting")
    body["state"] = state
    body.update(fields)
    return body


def _legacy_with_devices(*devices):
    return _legacy("alerting", evalMatches=[
        {"metric": "pot", "tags": {"device": d}, "value": 3900} for d in devices])


def _mixed():
    return unified(instance("Pot high", "firing", "f1", device="esp32-a"),
                   instance("Pot high", "resolved", "f2", device="esp32-b"))


# (id, payload, expected updates as (alert, key, firing, device), ignored alertnames)
CASES = [
    ("grafana-docs-two-firing", load_payload("grafana_docs_two_firing"),
     [("high-memory-usage", "c6eadffa33fcdf37", True, None),
      ("high-cpu-usage", "bc97ff14869b13e3", True, None)], []),
    ("grafana-test-data-two-instances", load_payload("grafana_notifier_test_two_instances"),
     [("alert1", "fac0861a85de433a", True, None), ("alert1", "fab6861a85d5eeb5", True, None)],
     []),
    ("unified-resolved", unified(instance("Pot high", "resolved", "f1"), status="resolved"),
     [("pot-high", "f1", False, None)], []),
    ("unified-mixed-uses-each-alerts-status", _mixed(),
     [("pot-high", "f1", True, "esp32-a"), ("pot-high", "f2", False, "esp32-b")], []),
    ("unified-mixed-top-level-status-ignored",
     unified(instance("Pot high", "resolved", "f1"), status="firing"),
     [("pot-high", "f1", False, None)], []),
    ("unified-multiple-alerts",
     unified(instance("Pot high", fingerprint="a"), instance("Temp LOW", fingerprint="b")),
     [("pot-high", "a", True, None), ("temp-low", "b", True, None)], []),
    ("unified-empty-alerts", unified(), [], []),
    ("alertmanager-without-fingerprint", load_payload("alertmanager_webhook"),
     [("pothigh", "1a30ba71cca2921f", True, "esp32-a1b2c3"),
      ("pothigh", labels_fingerprint({"alertname": "PotHigh", "device": "esp32-d4e5f6",
                                      "job": "alertloop", "severity": "warning"}),
       False, "esp32-d4e5f6")], []),
    ("grafana-test-button", load_payload("grafana_test_button"), [], ["TestAlert"]),
    ("grafana-datasource-nodata", load_payload("grafana_datasource_nodata"), [],
     ["DatasourceNoData"]),
    ("grafana-datasource-error", load_payload("grafana_datasource_error"), [],
     ["DatasourceError"]),
    ("test-alert-next-to-a-real-one",
     unified(instance("TestAlert", fingerprint="t"), instance("Pot high", fingerprint="p")),
     [("pot-high", "p", True, None)], ["TestAlert"]),
    ("legacy-docs-alerting", load_payload("legacy_docs_alerting"),
     [("load-peaking", "legacy:1", True, None)], []),
    ("legacy-alerting-capitalised", _legacy("Alerting"),
     [("load-peaking", "legacy:1", True, None)], []),
    ("legacy-ok", _legacy("ok", evalMatches=[]), [], []),
    ("legacy-paused", _legacy("paused"), [], []),
    ("legacy-no-data", _legacy("no_data"), [], ["Load peaking!"]),
    ("legacy-pending", _legacy("pending"), [], ["Load peaking!"]),
    ("legacy-devices", _legacy_with_devices("esp32-a", "esp32-b", "esp32-a"),
     [("load-peaking", "legacy:1:esp32-a", True, "esp32-a"),
      ("load-peaking", "legacy:1:esp32-b", True, "esp32-b")], []),
    ("legacy-without-rule-id", _legacy("alerting", ruleId=None),
     [("load-peaking", "legacy:load-peaking", True, None)], []),
    ("legacy-test-button", load_payload("legacy_test_notification"), [], ["Test notification"]),
]


@pytest.mark.parametrize("payload, updates, ignored", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_payload_to_updates(payload, updates, ignored):
    notification = parse(payload)
    assert [(u.alert, u.key, u.firing, u.device) for u in notification.updates] == updates
    assert [s.alertname for s in notification.ignored] == ignored
    assert notification.rejected == []


@pytest.mark.parametrize("payload, snapshots", [
    (_legacy("alerting"), [("load-peaking", "legacy:1")]),
    (_legacy("ok"), [("load-peaking", "legacy:1")]),
    (_legacy("paused"), [("load-peaking", "legacy:1")]),
    (_legacy("pending"), []),
    (load_payload("grafana_docs_two_firing"), []),
], ids=["legacy-alerting", "legacy-ok", "legacy-paused", "legacy-pending", "unified"])
def test_legacy_notifications_replace_the_rules_instances(payload, snapshots):
    assert parse(payload).snapshots == snapshots


A = instance("Pot high", "firing", "a", device="esp32-a")
B = instance("Pot high", "firing", "b", device="esp32-b")
WHOLE_STATE = [
    ("grouped-by-alertname", grouped("Pot high", A), [("pot-high", None)]),
    ("grouped-by-folder-and-alertname",  # another folder may hold a rule of the same name
     {**grouped("Pot high", A), "groupLabels": {"alertname": "Pot high", "grafana_folder": "f"}},
     []),
    ("grouped-by-alertname-and-device",
     {**grouped("Pot high", A), "groupLabels": {"alertname": "Pot high", "device": "esp32-a"}},
     []),
    ("not-grouped", unified(A), []),
    ("truncated", grouped("Pot high", A, B, truncatedAlerts=1), []),
    ("truncated-not-a-number", grouped("Pot high", A, truncatedAlerts="0"), []),
    ("an-unreadable-alert", grouped("Pot high", A, {"labels": {"alertname": "Pot high"}}), []),
    ("another-alertname-inside", grouped("Pot high", A, instance("Temp high")), []),
    ("test-alert", grouped("TestAlert", instance("TestAlert")), []),
    ("alertmanager", load_payload("alertmanager_webhook"), [("pothigh", None)]),
]


@pytest.mark.parametrize("payload, snapshots", [c[1:] for c in WHOLE_STATE],
                         ids=[c[0] for c in WHOLE_STATE])
def test_a_notification_grouped_by_alertname_is_its_whole_state(payload, snapshots):
    assert parse(payload).snapshots == snapshots


NOT_NOTIFICATIONS = [
    ("array", [load_payload("grafana_docs_two_firing")], "got an array"),
    ("empty-array", [], "got an array"),
    ("string", "firing", "got a str"),
    ("number", 42, "got a int"),
    ("null", None, "got a NoneType"),
    ("empty-object", {}, "neither"),
    ("unrelated-object", {"hello": "world"}, "neither"),
    ("alerts-not-a-list", {"alerts": {"status": "firing"}}, "alerts must be an array"),
    ("alerts-null", {"alerts": None}, "alerts must be an array"),
    ("only-invalid-alerts", {"alerts": [1, "x"]}, "no valid alert"),
    ("legacy-unknown-state", _legacy("exploded"), "state must be one of"),
    ("legacy-state-not-string", _legacy(1), "state must be one of"),
    ("legacy-rule-name-missing", _legacy("alerting", ruleName=None), "ruleName"),
    ("legacy-rule-name-symbols", _legacy("alerting", ruleName="!!!"), "ruleName"),
    ("legacy-rule-name-too-long", _legacy("alerting", ruleName="r" * 129), "ruleName"),
]


@pytest.mark.parametrize("payload, message", [c[1:] for c in NOT_NOTIFICATIONS],
                         ids=[c[0] for c in NOT_NOTIFICATIONS])
def test_json_that_is_no_notification_is_refused(payload, message):
    with pytest.raises(NotANotification, match=message):
        parse(payload)


def _alert(**changes):
    alert = instance("Pot high", fingerprint="ok")
    for key, value in changes.items():
        if value is _DROP:
            del alert[key]
        else:
            alert[key] = value
    return alert


_DROP = object()

BAD_ALERTS = [
    ("not-an-object", "firing", "is not an object"),
    ("labels-missing", _alert(labels=_DROP), "labels must be an object"),
    ("labels-a-list", _alert(labels=["alertname"]), "labels must be an object"),
    ("label-value-a-number", _alert(labels={"alertname": "x", "n": 1}), "object of strings"),
    ("alertname-missing", _alert(labels={"team": "blue"}), "no alertname"),
    ("alertname-empty", _alert(labels={"alertname": ""}), "no alertname"),
    ("alertname-only-symbols", _alert(labels={"alertname": "?!"}), "no alertname"),
    ("alertname-too-long", _alert(labels={"alertname": "a" * 129}), "longer than 128"),
    ("status-missing", _alert(status=_DROP), "status must be"),
    ("status-unknown", _alert(status="pending"), "status must be"),
    ("status-a-bool", _alert(status=True), "status must be"),
    ("fingerprint-a-number", _alert(fingerprint=12), "fingerprint must be a string"),
]


@pytest.mark.parametrize("bad, reason", [c[1:] for c in BAD_ALERTS],
                         ids=[c[0] for c in BAD_ALERTS])
def test_a_malformed_alert_is_rejected_and_the_others_still_count(bad, reason):
    notification = parse(unified(bad, instance("Temp", fingerprint="good")))
    assert [(u.alert, u.key) for u in notification.updates] == [("temp", "good")]
    assert len(notification.rejected) == 1
    assert notification.rejected[0].index == 0
    assert reason in notification.rejected[0].reason


@pytest.mark.parametrize("device", [
    "", "a/b", "a+b", "a#b", "x" * 129, "nul\x00", "new\nline", "del\x7f", "c1\x85",
    "lone\ud800", "non\uffff", "non\U0001fffe",
], ids=["empty", "slash", "plus", "hash", "too-long", "nul", "newline", "del", "c1-control",
        "surrogate", "noncharacter", "noncharacter-plane-1"])
def test_a_device_label_that_cannot_be_a_topic_level_keeps_the_alert_only(device):
    notification = parse(unified(instance("Pot high", fingerprint="f", device=device)))
    assert notification.updates == [InstanceUpdate("pot-high", "f", True, None)]
    assert notification.warnings


@pytest.mark.parametrize("name, safe", [
    ("Pot high", "pot-high"), ("pot-high", "pot-high"), ("  CPU > 90%!  ", "cpu-90"),
    ("a__b--c", "a-b-c"), ("Température", "temp-rature"), ("High memory usage",
                                                          "high-memory-usage"),
], ids=["spaces", "already-safe", "symbols-and-ends", "runs", "non-ascii", "grafana-docs"])
def test_alertname_becomes_topic_safe(name, safe):
    assert topic_safe(name) == safe


def test_a_missing_fingerprint_is_computed_even_from_a_lone_surrogate():
    alert = {"status": "firing", "labels": {"alertname": "Pot high", "x": "\ud800"}}
    assert len(parse(unified(alert)).updates[0].key) == 16


def test_fingerprint_matches_grafanas():
    # Values from grafana/alerting receivers/webhook/webhook_test.go.
    assert labels_fingerprint({"alertname": "alert1", "lbl1": "val1"}) == "fac0861a85de433a"
    assert labels_fingerprint({"alertname": "alert1", "lbl1": "val2"}) == "fab6861a85d5eeb5"


def test_any_json_is_a_notification_or_a_clear_refusal_never_a_crash():
    rng = random.Random(4)
    store = AlertStore()
    for _ in range(5000):
        payload = random_json(rng)
        try:
            notification = parse(payload)
        except NotANotification as refusal:
            assert str(refusal)
            continue
        store.apply(notification)
        store.topic_values(store.known_alerts(), "alerts")


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_mutated_grafana_payloads_never_crash(fixture):
    rng = random.Random(fixture)
    original = load_payload(fixture)
    store = AlertStore()
    for _ in range(1000):
        try:
            store.apply(parse(mutate(rng, original)))
        except NotANotification as refusal:
            assert str(refusal)
    store.topic_values(store.known_alerts(), "alerts")
    AlertStore.from_document(store.document_bytes())
