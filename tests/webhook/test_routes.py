"""The Flask app (test client) on an in-memory MQTT link, no server: auth, HMAC, every bad-input
answer, what each notification publishes. What only a broker can show is in test_broker.py."""

import json
import random
import time
from collections import Counter

import pytest

from tests.webhook.conftest import (
    AUTH,
    FIXTURE_NAMES,
    PASSWORD,
    USER,
    grouped,
    instance,
    load_payload,
    mutate,
    unified,
)
from webhook.auth import sign

SECRET = "hmac-test-secret"
FIRING = unified(instance("Pot high", "firing", "f1", device="esp32-a1b2c3"))


def retained(client, topic):
    return client.application.link.retained.get(topic)


def post(client, payload, auth=AUTH, **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post("/alert", data=body, auth=auth, content_type="application/json",
                       **kwargs)


@pytest.mark.parametrize("auth, status", [
    (None, 401),
    ((USER, "wrong"), 401),
    (("someone", PASSWORD), 401),
    (("", ""), 401),
    ((USER, PASSWORD + "x"), 401),
    (AUTH, 200),
], ids=["none", "wrong-password", "wrong-user", "empty", "password-prefix", "right"])
def test_basic_auth(client, auth, status):
    answer = post(client, FIRING, auth=auth)
    assert answer.status_code == status
    assert answer.is_json
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic")
        assert answer.json["error"] == "unauthorized"


def _signed(body, secret=SECRET, timestamp=None):
    return {"X-Grafana-Alerting-Signature": sign(secret, body, timestamp)}


BODY = json.dumps(FIRING).encode()
HMAC_CASES = [
    ("missing", {}, 401, "missing X-Grafana-Alerting-Signature"),
    ("forged", {"X-Grafana-Alerting-Signature": "0" * 64}, 401, "does not match"),
    ("other-secret", _signed(BODY, "guess"), 401, "does not match"),
    ("other-body", _signed(BODY + b" "), 401, "does not match"),
    ("not-hex", {"X-Grafana-Alerting-Signature": "zz\u00e9"}, 401, "does not match"),
    ("valid", _signed(BODY), 200, None),
    ("valid-upper-case-hex", {"X-Grafana-Alerting-Signature": sign(SECRET, BODY).upper()},
     200, None),
]


@pytest.mark.parametrize("headers, status, reason", [c[1:] for c in HMAC_CASES],
                         ids=[c[0] for c in HMAC_CASES])
def test_hmac_signature(app_factory, headers, status, reason):
    client = app_factory(WEBHOOK_HMAC_SECRET=SECRET).test_client()
    answer = post(client, BODY, headers=headers)
    assert answer.status_code == status
    if reason:
        assert reason in answer.json["reason"]


def _stamped(timestamp, signed=None):
    """Signed over `<signed>:<body>` (default: the timestamp sent) with the timestamp in X-Ts."""
    return {**_signed(BODY, timestamp=signed or timestamp), "X-Ts": str(timestamp)}


FULLWIDTH = {ord(d): 0xFF10 + int(d) for d in "0123456789"}
# (id, headers as a function of the current Unix time, status, reason)
TIMESTAMP_CASES = [
    ("now", lambda now: _stamped(now), 200, None),
    ("250-s-old", lambda now: _stamped(now - 250), 200, None),
    ("250-s-ahead", lambda now: _stamped(now + 250), 200, None),
    ("missing", lambda now: _signed(BODY, timestamp=now), 401, "missing X-Ts"),
    ("not-signed", lambda now: {**_signed(BODY), "X-Ts": str(now)}, 401, "does not match"),
    ("changed", lambda now: _stamped(now, signed=now - 1), 401, "does not match"),
    ("1", lambda now: _stamped(1), 401, "behind the webhook's clock"),
    ("year-2286", lambda now: _stamped(9999999999), 401, "ahead of the webhook's clock"),
    ("350-s-old", lambda now: _stamped(now - 350), 401, "behind the webhook's clock"),
    ("350-s-ahead", lambda now: _stamped(now + 350), 401, "ahead of the webhook's clock"),
    ("banana", lambda now: _stamped("banana"), 401, "not a Unix time in seconds"),
    ("fraction", lambda now: _stamped(f"{now}.5"), 401, "not a Unix time in seconds"),
    ("plus-sign", lambda now: _stamped(f"+{now}"), 401, "not a Unix time in seconds"),
    ("milliseconds", lambda now: _stamped(now * 1000), 401, "not a Unix time in seconds"),
    ("fullwidth-digits", lambda now: _stamped(str(now).translate(FULLWIDTH)), 401,
     "not a Unix time in seconds"),
]


@pytest.mark.parametrize("headers, status, reason", [c[1:] for c in TIMESTAMP_CASES],
                         ids=[c[0] for c in TIMESTAMP_CASES])
def test_hmac_timestamp(app_factory, headers, status, reason):
    client = app_factory(WEBHOOK_HMAC_SECRET=SECRET,
                         WEBHOOK_HMAC_TIMESTAMP_HEADER="X-Ts").test_client()
    answer = post(client, BODY, headers=headers(int(time.time())))
    assert answer.status_code == status
    if reason:
        assert reason in answer.json["reason"]
        assert client.get("/healthz").json["counts"]["bad_signature"] == 1


def test_the_replay_window_is_configurable(app_factory):
    client = app_factory(WEBHOOK_HMAC_SECRET=SECRET, WEBHOOK_HMAC_TIMESTAMP_HEADER="X-Ts",
                         WEBHOOK_HMAC_MAX_SKEW="30").test_client()
    now = int(time.time())
    assert post(client, BODY, headers=_stamped(now - 20)).status_code == 200
    answer = post(client, BODY, headers=_stamped(now - 60))
    assert answer.status_code == 401
    assert "at most 30 s, WEBHOOK_HMAC_MAX_SKEW" in answer.json["reason"]


def test_hmac_is_checked_after_basic_auth(app_factory):
    client = app_factory(WEBHOOK_HMAC_SECRET=SECRET).test_client()
    answer = post(client, BODY, auth=(USER, "wrong"), headers=_signed(BODY))
    assert answer.status_code == 401
    assert answer.json["reason"] == "missing or wrong credentials"


BAD_INPUT = [
    ("malformed-json", b'{"alerts": [', 400, "malformed JSON"),
    ("empty-body", b"", 400, "malformed JSON"),
    ("not-utf8", b'{"alerts": "\xff"}', 400, "malformed JSON"),
    ("nested-too-deep", b"[" * 30000 + b"]" * 30000, 400, "malformed JSON"),
    ("integer-over-4300-digits", b'{"alerts": [], "x": ' + b"1" * 5000 + b"}", 400,
     "malformed JSON"),
    ("array", json.dumps([FIRING]).encode(), 422, "not an alert notification"),
    ("string", b'"firing"', 422, "not an alert notification"),
    ("object-without-alerts", b'{"status": "firing"}', 422, "not an alert notification"),
    ("alerts-not-a-list", b'{"alerts": {}}', 422, "not an alert notification"),
    ("only-broken-alerts", b'{"alerts": [{"labels": 1}]}', 422, "not an alert notification"),
    ("legacy-unknown-state", b'{"ruleName": "x", "state": "boom"}', 422,
     "not an alert notification"),
    ("too-large", b'{"alerts": [], "pad": "' + b"x" * 70000 + b'"}', 413,
     "request entity too large"),
]


@pytest.mark.parametrize("body, status, error", [c[1:] for c in BAD_INPUT],
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_a_clear_answer(app_factory, body, status, error):
    client = app_factory(WEBHOOK_MAX_BODY_BYTES=65536).test_client()
    answer = post(client, body)
    assert answer.status_code == status
    assert answer.json["error"] == error
    assert answer.json["reason"]
    if status == 413:
        assert "65536 bytes" in answer.json["reason"]
    counter = {400: "malformed_json", 413: "too_large", 422: "not_a_notification"}[status]
    assert client.get("/healthz").json["counts"][counter] == 1


@pytest.mark.parametrize("method, path, status", [
    ("get", "/alert", 405), ("delete", "/alert", 405), ("get", "/nowhere", 404),
    ("post", "/healthz", 405),
], ids=["get-alert", "delete-alert", "unknown-path", "post-healthz"])
def test_other_routes_answer_json(client, method, path, status):
    answer = getattr(client, method)(path, auth=AUTH)
    assert answer.status_code == status
    assert answer.is_json and answer.json["error"]
    if status == 405:
        assert "Allow" in answer.headers


def test_healthz_while_connected(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json["mqtt_connected"] is True


def test_each_alert_topic_follows_its_instances(client):
    assert post(client, load_payload("grafana_docs_two_firing")).status_code == 200
    assert retained(client, "alerts/high-memory-usage") == b"1"
    assert retained(client, "alerts/high-cpu-usage") == b"1"
    resolved = load_payload("grafana_docs_two_firing")
    resolved["alerts"][0]["status"] = "resolved"
    answer = post(client, resolved)
    assert answer.json["published"] == {"alerts/high-memory-usage": "0"}
    assert retained(client, "alerts/high-memory-usage") == b"0"
    assert retained(client, "alerts/high-cpu-usage") == b"1"


def test_device_topic_follows_its_instance(client):
    assert post(client, FIRING).json["published"] == {
        "alerts/pot-high": "1", "alerts/pot-high/esp32-a1b2c3": "1"}
    assert retained(client, "alerts/pot-high/esp32-a1b2c3") == b"1"
    post(client, unified(instance("Pot high", "resolved", "f1", device="esp32-a1b2c3")))
    assert retained(client, "alerts/pot-high/esp32-a1b2c3") == b"0"
    assert retained(client, "alerts/pot-high") == b"0"


def test_repeats_and_duplicates_publish_nothing_new(client):
    answers = [post(client, FIRING) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [bool(a.json["published"]) for a in answers] == [True, False, False]
    assert client.application.link.payloads("alerts/pot-high") == [b"1"]


@pytest.mark.parametrize("fixture, alertname", [
    ("grafana_test_button", "TestAlert"),
    ("grafana_datasource_nodata", "DatasourceNoData"),
    ("grafana_datasource_error", "DatasourceError"),
    ("legacy_test_notification", "Test notification"),
], ids=["test-button", "datasource-nodata", "datasource-error", "legacy-test-button"])
def test_test_and_datasource_alerts_are_acknowledged_without_state_change(
        client, fixture, alertname):
    assert post(client, FIRING).status_code == 200
    answer = post(client, load_payload(fixture))
    assert answer.status_code == 200
    assert answer.json["published"] == {}
    assert [i["alertname"] for i in answer.json["ignored"]] == [alertname]
    assert retained(client, "alerts/pot-high") == b"1"
    assert retained(client, "alerts/testalert") is None
    assert client.get("/healthz").json["counts"]["ignored_alerts"] == 1


def test_a_broken_alert_next_to_a_good_one_is_reported(client):
    body = unified({"labels": {"alertname": "Pot high"}, "status": "maybe"},
                   instance("Temp high", fingerprint="t"))
    answer = post(client, body)
    assert answer.status_code == 200
    assert answer.json["published"] == {"alerts/temp-high": "1"}
    assert "status must be" in answer.json["rejected"][0]["reason"]


@pytest.mark.parametrize("device", ["new\nline", "lone\ud800"], ids=["control", "surrogate"])
def test_a_device_mosquitto_would_refuse_gets_no_topic(client, device):
    answer = post(client, unified(instance("Pot high", "firing", "f1", device=device)))
    assert answer.status_code == 200
    assert answer.json["published"] == {"alerts/pot-high": "1"}
    assert answer.json["warnings"]
    assert post(client, unified(instance("Temp high", fingerprint="t"))).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_legacy_notification(client):
    assert post(client, load_payload("legacy_docs_alerting")).status_code == 200
    assert retained(client, "alerts/load-peaking") == b"1"
    ok = {**load_payload("legacy_docs_alerting"), "state": "ok", "evalMatches": []}
    assert post(client, ok).status_code == 200
    assert retained(client, "alerts/load-peaking") == b"0"


def test_put_is_accepted_like_post(client):
    answer = client.put("/alert", json=FIRING, auth=AUTH)
    assert answer.status_code == 200
    assert retained(client, "alerts/pot-high") == b"1"


def test_mutated_payloads_never_get_a_500(client):
    rng = random.Random(7)
    statuses = Counter()
    for fixture in FIXTURE_NAMES:
        original = load_payload(fixture)
        for _ in range(60):
            statuses[post(client, mutate(rng, original)).status_code] += 1
    assert set(statuses) <= {200, 422}, statuses
    assert statuses[200] and statuses[422]


def test_an_instance_missing_from_its_alerts_notification_is_resolved(client):
    a = instance("Pot high", "firing", "a", device="esp32-a")
    b = instance("Pot high", "firing", "b", device="esp32-b")
    assert post(client, grouped("Pot high", a, b)).status_code == 200
    assert retained(client, "alerts/pot-high/esp32-b") == b"1"
    answer = post(client, grouped("Pot high", a))
    assert answer.json["published"] == {"alerts/pot-high/esp32-b": "0"}
    assert retained(client, "alerts/pot-high/esp32-b") == b"0"
    assert retained(client, "alerts/pot-high") == b"1"


def test_without_the_broker_the_answer_is_503_and_healthz_says_so(client):
    client.application.link.connected = False
    answer = post(client, FIRING)
    assert answer.status_code == 503
    assert answer.json["error"] == "broker unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["counts"]["broker_unavailable"] == 1
