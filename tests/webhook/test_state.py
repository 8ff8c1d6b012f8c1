"""The alert-instance store: which topic values a sequence of notifications implies."""

import pytest

from tests.webhook.conftest import instance, load_payload, unified
from webhook.notification import parse
from webhook.state import AlertStore, changed
from webhook.topics import parse_alert_topic


def _legacy(state, *devices):
    body = load_payload("legacy_docs_alerting")
    body["state"] = state
    body["evalMatches"] = [{"metric": "pot", "tags": {"device": d}, "value": 1} for d in devices]
    return body


def fire(fp, device=None, name="Pot high"):
    labels = {"device": device} if device else {}
    return unified(instance(name, "firing", fp, **labels))


def resolve(fp, device=None, name="Pot high"):
    labels = {"device": device} if device else {}
    return unified(instance(name, "resolved", fp, **labels))


SEQUENCES = [
    ("one-instance-fires", [fire("a")], {"alerts/pot-high": "1"}),
    ("fires-then-resolves", [fire("a"), resolve("a")], {"alerts/pot-high": "0"}),
    ("resolved-never-fired", [resolve("a")], {"alerts/pot-high": "0"}),
    ("two-fire-one-resolves-stays-on", [fire("a"), fire("b"), resolve("a")],
     {"alerts/pot-high": "1"}),
    ("repeat-is-harmless", [fire("a"), fire("a"), fire("a")], {"alerts/pot-high": "1"}),
    ("duplicate-resolve-is-harmless", [fire("a"), resolve("a"), resolve("a")],
     {"alerts/pot-high": "0"}),
    ("devices-follow-their-instances",
     [fire("a", "esp32-1"), fire("b", "esp32-2"), resolve("a", "esp32-1")],
     {"alerts/pot-high": "1", "alerts/pot-high/esp32-1": "0", "alerts/pot-high/esp32-2": "1"}),
    ("mixed-notification", [fire("a", "esp32-1"), unified(
        instance("Pot high", "resolved", "a", device="esp32-1"),
        instance("Pot high", "firing", "b", device="esp32-2"))],
     {"alerts/pot-high": "1", "alerts/pot-high/esp32-1": "0", "alerts/pot-high/esp32-2": "1"}),
    ("test-alert-changes-nothing", [fire("a"), load_payload("grafana_test_button")],
     {"alerts/pot-high": "1"}),
    ("nodata-changes-nothing", [fire("a"), load_payload("grafana_datasource_nodata")],
     {"alerts/pot-high": "1"}),
    ("legacy-alerting-then-ok", [_legacy("alerting"), _legacy("ok")],
     {"alerts/load-peaking": "0"}),
    ("legacy-no-data-keeps-state", [_legacy("alerting"), _legacy("no_data")],
     {"alerts/load-peaking": "1"}),
    ("legacy-paused-resolves", [_legacy("alerting"), _legacy("paused")],
     {"alerts/load-peaking": "0"}),
    ("legacy-devices-snapshot", [_legacy("alerting", "d1", "d2"), _legacy("alerting", "d2")],
     {"alerts/load-peaking": "1", "alerts/load-peaking/d1": "0", "alerts/load-peaking/d2": "1"}),
    ("legacy-ok-resolves-devices", [_legacy("alerting", "d1"), _legacy("ok")],
     {"alerts/load-peaking": "0", "alerts/load-peaking/d1": "0"}),
]


@pytest.mark.parametrize("payloads, expected", [c[1:] for c in SEQUENCES],
                         ids=[c[0] for c in SEQUENCES])
def test_notifications_to_topic_values(payloads, expected):
    store = AlertStore()
    for payload in payloads:
        store.apply(parse(payload))
    assert store.topic_values(store.known_alerts(), "alerts") == expected


def test_state_document_round_trip_keeps_instances_without_device():
    store = AlertStore()
    for payload in (fire("a"), fire("b"), fire("c", "esp32-1")):
        store.apply(parse(payload))
    restored = AlertStore.from_document(store.document_bytes())
    restored.apply(parse(resolve("a")))
    assert restored.topic_values({"pot-high"}, "alerts") == {
        "alerts/pot-high": "1", "alerts/pot-high/esp32-1": "1"}
    restored.apply(parse(resolve("b")))
    restored.apply(parse(resolve("c", "esp32-1")))
    assert restored.topic_values({"pot-high"}, "alerts") == {
        "alerts/pot-high": "0", "alerts/pot-high/esp32-1": "0"}


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b'{"version": 2, "alerts": {}}', b'{"version": 1}',
    b'{"version": 1, "alerts": {"Pot high": {}}}',
    b'{"version": 1, "alerts": {"pot": {"firing": [], "devices": []}}}',
    b'{"version": 1, "alerts": {"pot": {"firing": {}, "devices": ["a/b"]}}}',
    b"\xff\xfe",
], ids=["empty", "not-json", "array", "other-version", "no-alerts", "unsafe-alert-name",
        "firing-not-object", "device-not-topic-safe", "not-utf8"])
def test_a_broken_state_document_is_refused(raw):
    with pytest.raises(ValueError):
        AlertStore.from_document(raw)


def test_only_changed_values_are_published():
    assert changed({"a": "1", "b": "0", "c": "1"}, {"a": "1", "b": "1"}) == {"b": "0", "c": "1"}


@pytest.mark.parametrize("topic, parsed", [
    ("alerts/pot-high", ("pot-high", None)),
    ("alerts/pot-high/esp32-a1", ("pot-high", "esp32-a1")),
    ("alerts/_webhook/webhook/state", None),
    ("alerts/Pot", None),
    ("alerts/pot/a/b", None),
    ("status/webhook", None),
    ("alerts/", None),
], ids=["alert", "device", "state-document", "not-topic-safe", "too-deep", "other-root", "empty"])
def test_retained_topics_read_back_at_start_up(topic, parsed):
    assert parse_alert_topic(topic, "alerts") == parsed


def test_notification_alerts_are_reported_for_diffing():
    store = AlertStore()
    assert store.apply(parse(fire("a", name="One"))) == {"one"}
    assert store.apply(parse(load_payload("grafana_test_button"))) == set()
