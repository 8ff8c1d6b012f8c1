"""Issue 20 B: a captured signed notification replayed within the HMAC window must not undo a
newer state. Grafana's startsAt (the start of a firing episode) and endsAt (its end) order them:
a resolve of an earlier episode than the one firing, or a firing of an episode that has ended,
is ignored and counted (`stale_updates`)."""

import json
import time

import pytest

from tests.support.webhook import AUTH, basic, grouped, instance
from webhook.auth import sign
from webhook.notification import parse, time_ms
from webhook.state import AlertStore

SECRET = "hmac-test-secret"


def episode(status, starts, ends=None, fingerprint="f1"):
    alert = instance("Pot high", status, fingerprint, device="esp32-a")
    alert["startsAt"] = starts
    alert["endsAt"] = ends or "0001-01-01T00:00:00Z"
    return grouped("Pot high", alert)


FIRST_FIRING = episode("firing", "2026-01-01T10:00:00.123456789Z")
FIRST_RESOLVED = episode("resolved", "2026-01-01T10:00:00.123456789Z", "2026-01-01T10:02:00Z")
SECOND_FIRING = episode("firing", "2026-01-01T10:03:00Z")


@pytest.fixture
def client(app_factory):
    return app_factory(WEBHOOK_HMAC_SECRET=SECRET, WEBHOOK_HMAC_TIMESTAMP_HEADER="X-Ts",
                       WEBHOOK_STATE_MAX_ENTRIES=10).test_client()


def captured(body):
    """The request as an eavesdropper keeps it: body and signed headers."""
    raw = json.dumps(body).encode()
    now = str(int(time.time()))
    return raw, {**basic(AUTH), "X-Ts": now, "X-Grafana-Alerting-Signature": sign(SECRET, raw, now),
                 "Content-Type": "application/json"}


def send(client, request):
    raw, headers = request
    answer = client.post("/alert", data=raw, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_replayed_resolve_after_a_refire_keeps_it_red(client):
    send(client, captured(FIRST_FIRING))
    resolve = captured(FIRST_RESOLVED)
    send(client, resolve)
    send(client, captured(SECOND_FIRING))
    answer = send(client, resolve)  # replayed within the skew window, signature still valid
    assert answer["published"] == {}
    assert client.application.link.retained["alerts/pot-high"] == b"1"
    assert client.get("/healthz").json["counts"]["stale_updates"] >= 1


def test_a_replayed_firing_after_the_resolve_keeps_it_green(client):
    firing = captured(FIRST_FIRING)
    send(client, firing)
    send(client, captured(FIRST_RESOLVED))
    answer = send(client, firing)
    assert answer["published"] == {}
    assert client.application.link.retained["alerts/pot-high"] == b"0"


def test_a_new_episode_after_a_resolve_fires(client):
    for body in (FIRST_FIRING, FIRST_RESOLVED, SECOND_FIRING):
        send(client, captured(body))
    assert client.application.link.retained["alerts/pot-high"] == b"1"


def test_a_whole_state_older_than_an_instance_does_not_resolve_it():
    store = AlertStore()
    store.apply(parse(SECOND_FIRING))
    other = instance("Pot high", "firing", "f2", device="esp32-b")
    other["startsAt"] = "2026-01-01T10:01:00Z"
    store.apply(parse(grouped("Pot high", other)))  # sent before SECOND_FIRING began
    assert store.firing["pot-high"] == {"f1": "esp32-a", "f2": "esp32-b"}
    assert store.stale == [("pot-high", "f1")]


def test_without_times_nothing_is_ordered():
    store = AlertStore()
    firing, resolved = (grouped("Pot high", instance("Pot high", s, "f1")) for s in
                        ("firing", "resolved"))
    for body in (firing, resolved, firing):
        for alert in body["alerts"]:
            alert.pop("startsAt", None)
            alert.pop("endsAt", None)
        store.apply(parse(body))
    assert store.firing["pot-high"] == {"f1": None}


def test_the_times_survive_the_state_document():
    store = AlertStore()
    store.apply(parse(FIRST_FIRING))
    store.apply(parse(FIRST_RESOLVED))
    store.apply(parse(episode("firing", "2026-01-01T10:03:00Z", fingerprint="f2")))
    again = AlertStore.from_document(store.document_bytes())
    assert again.ended == {"pot-high": {"f1": time_ms("2026-01-01T10:02:00Z")}}
    assert again.starts == {"pot-high": {"f2": time_ms("2026-01-01T10:03:00Z")}}
    again.apply(parse(FIRST_FIRING))  # older than both: neither fires f1 nor resolves f2
    assert again.stale == [("pot-high", "f2"), ("pot-high", "f1")]
    assert again.firing["pot-high"] == {"f2": "esp32-a"}
