"""The alert-instance store: which topic values a sequence of notifications implies."""

import pytest

from tests.webhook.conftest import grouped, instance, load_payload, unified
from webhook.notification import parse
from webhook.state import AlertStore, Limits, changed
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
    ("whole-state-resolves-an-instance-it-does-not-list",
     [fire("a", "esp32-a"), fire("b", "esp32-b"),
      grouped("Pot high", instance("Pot high", "firing", "a", device="esp32-a"))],
     {"alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1", "alerts/pot-high/esp32-b": "0"}),
    ("whole-state-of-another-alert-changes-nothing",
     [fire("a"), grouped("Temp high", instance("Temp high", "firing", "t"))],
     {"alerts/pot-high": "1", "alerts/temp-high": "1"}),
    ("whole-state-all-resolved",
     [fire("a", "esp32-a"), fire("b", "esp32-b"),
      grouped("Pot high", instance("Pot high", "resolved", "a", device="esp32-a"))],
     {"alerts/pot-high": "0", "alerts/pot-high/esp32-a": "0", "alerts/pot-high/esp32-b": "0"}),
    ("not-grouped-keeps-what-it-does-not-list",
     [fire("a", "esp32-a"), fire("b", "esp32-b"), fire("a", "esp32-a")],
     {"alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1", "alerts/pot-high/esp32-b": "1"}),
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
    b"", b"not json", b"[]", b'{"version": 3, "alerts": {}}', b'{"version": 1}',
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


DAY = 86400.0
# What the broker's message_size_limit must allow per WEBHOOK_STATE_MAX_ENTRIES (2 MB at 1000).
MAX_DOCUMENT_BYTES_PER_ENTRY = 2000


def test_a_version_1_document_is_read():
    raw = b'{"alerts":{"pot-high":{"devices":["esp32-a"],"firing":{"f1":"esp32-a"}}},"version":1}'
    store = AlertStore.from_document(raw, now=5.0)
    assert store.topic_values({"pot-high"}, "alerts") == {
        "alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1"}
    assert store.devices == {"pot-high": {"esp32-a": 5.0}}


def test_devices_and_alerts_resolved_long_ago_are_forgotten():
    store = AlertStore(Limits(max_entries=100, forget_after=7 * DAY), keep={"known"})
    store.apply(parse(fire("a", "old-device")), now=0.0)
    store.apply(parse(fire("o", name="Old alert")), now=0.0)
    store.apply(parse(fire("k", name="Known")), now=0.0)
    store.apply(parse(fire("b", "busy-device")), now=0.0)
    for payload in (resolve("a", "old-device"), resolve("o", name="Old alert"),
                    resolve("k", name="Known")):
        store.apply(parse(payload), now=1 * DAY)
    store.apply(parse(fire("b", "busy-device")), now=8 * DAY)
    assert store.forgotten == 0, "nothing is 7 days old yet"
    store.apply(parse(fire("b", "busy-device")), now=9 * DAY)
    assert store.forgotten == 2
    assert store.topic_values(store.known_alerts(), "alerts") == {
        "alerts/known": "0", "alerts/pot-high": "1", "alerts/pot-high/busy-device": "1"}


def test_the_oldest_remembered_entries_make_room_and_firing_ones_are_never_dropped():
    store = AlertStore(Limits(max_entries=10, forget_after=365 * DAY))
    for n in range(10):
        store.apply(parse(fire(f"f{n}", f"d{n}")), now=n)
        store.apply(parse(resolve(f"f{n}", f"d{n}")), now=n)
    for n in range(12):
        store.apply(parse(fire(f"new{n}", f"n{n}", name="Other")), now=100 + n)
    assert store.entries() == 10
    assert len(store.firing["other"]) == 10
    assert store.refused == [("other", "new10"), ("other", "new11")]
    assert "pot-high" not in store.known_alerts()


def test_a_document_over_the_cap_is_cut_to_it_on_reading():
    big = AlertStore(Limits(max_entries=1000))
    for n in range(50):
        big.apply(parse(resolve(f"f{n}", f"d{n}")), now=n)
    small = AlertStore.from_document(big.document_bytes(), Limits(max_entries=10), now=60)
    assert small.entries() == 10
    assert sorted(small.devices["pot-high"]) == [f"d{n}" for n in range(40, 50)]


def test_the_document_of_a_full_store_stays_bounded():
    """The largest state document: max_entries instances with the longest names mosquitto would
    take. Its size is what the broker's message_size_limit must allow."""
    store = AlertStore(Limits(max_entries=1000))
    for n in range(1000):  # JSON escapes \x01 as 6 bytes; an emoji is 4 bytes of UTF-8
        store.apply(parse(fire("\x01" * 124 + f"{n:04}", "\U0001F600" * 124 + f"{n:04}",
                               name="x" * 128)), now=n)
    assert store.entries() == 1000
    assert len(store.document_bytes()) < MAX_DOCUMENT_BYTES_PER_ENTRY * 1000
