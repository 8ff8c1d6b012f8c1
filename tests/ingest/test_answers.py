"""`POST /ingest`'s answers, without a broker, on the same in-memory link as `/alert`: every
refusal (400/401/403/413/422) docs/ingest.md lists, all or nothing, rights per user, limits,
and every refusal counted by reason. What reaches a real broker: test_ingest.py."""

import json
import time

import pytest

from tests.support.ingest import INGEST_AUTH, ingest_env, reading
from tests.support.ingest import post_client as post
from tests.support.webhook import basic

NOW_MS = int(time.time() * 1000)


@pytest.fixture
def ingest_client(app_factory):
    """A Flask test client of a webhook with the INGEST_* user on the in-memory link."""
    return client_of(app_factory(**ingest_env()))


def client_of(app):
    client = app.test_client()
    client.app = app
    return client


def counts(client):
    return client.app.extensions["counters"].snapshot()


def published(client):
    """(topic, payload) of every reading the webhook published, in order."""
    return [(t, p) for t, p, _ in client.app.link.published if t.startswith("sensors/")]


INVALID = [
    ("fullwidth digits as text", reading(value="４２"), "wrong_shape"),
    ("value missing", {"device": "plc-1", "measurement": "t"}, "wrong_shape"),
    ("value bool", reading(value=True), "wrong_shape"),
    ("reading not an object", [1, 2], "wrong_shape"),
    ("device missing", {"measurement": "t", "value": 1}, "bad_name"),
    ("device with slash", reading(device="plc-1/x"), "bad_name"),
    ("measurement wildcard", reading(measurement="#"), "bad_name"),
    ("measurement empty", reading(measurement=""), "bad_name"),
    ("device too long", reading(device="plc-" + "x" * 200), "bad_name"),
    ("device not a string", reading(device=7), "bad_name"),
    ("measurement of the listener's own", reading(measurement="listener_stats"), "reserved_name"),
    ("measurement of the alarm journal", reading(measurement="alarm_journal"), "reserved_name"),
    ("value beyond float", reading(value=10**400), "out_of_range"),
    ("seq beyond int64", reading(seq=2**63), "out_of_range"),
    ("ts in seconds", reading(ts=NOW_MS // 1000), "bad_ts"),
    ("ts a week ahead", reading(ts=NOW_MS + 7 * 86_400_000), "ts_in_future"),
    ("ts in 2262", reading(ts=9_223_372_036_853), "ts_in_future"),
    ("ts older than retention", reading(ts=NOW_MS - 31 * 86_400_000), "ts_too_old"),
]


@pytest.mark.parametrize("bad, kind", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_one_invalid_reading_refuses_the_whole_request(ingest_client, bad, kind):
    body = [reading(value=1), *(bad if isinstance(bad, list) else [bad]), reading(value=2)]
    status, answer = post(ingest_client, body)
    assert status == 422, answer
    assert answer["errors"] and {e["index"] for e in answer["errors"]} <= {1, 2}
    assert answer["errors"][0]["kind"] == kind and answer["errors"][0]["error"]
    # A later good request is published, and it is the only thing on sensors/#.
    assert post(ingest_client, reading(value=3))[0] == 202
    assert [json.loads(p)["value"] for _, p in published(ingest_client)] == [3.0]
    assert counts(ingest_client)["ingest_refused_invalid"] == 1
    assert counts(ingest_client)[f"ingest_invalid_{kind}"] >= 1


def test_every_invalid_reading_is_listed_with_its_index(ingest_client):
    body = [reading(value=None), reading(), reading(device=""), reading(value=float("nan"))]
    status, answer = post(ingest_client, None, raw=json.dumps(body).encode())
    # json.dumps writes NaN, which is no JSON: the whole body is malformed.
    assert status == 400 and "NaN" in answer["reason"]
    body[3] = reading(ts="now")
    status, answer = post(ingest_client, body)
    assert status == 422
    assert [(e["index"], e["kind"]) for e in answer["errors"]] == [
        (0, "wrong_shape"), (2, "bad_name"), (3, "bad_ts")]


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[1,", b'{"a": NaN', b"[" * 100_000])
def test_malformed_json_is_400(ingest_client, raw):
    status, answer = post(ingest_client, None, raw=raw)
    assert status == 400 and answer["error"] == "malformed JSON"
    assert counts(ingest_client)["ingest_refused_malformed_json"] == 1


@pytest.mark.parametrize("body", [42, "text", None, []])
def test_json_that_holds_no_reading_is_422(ingest_client, body):
    assert post(ingest_client, body)[0] == 422


@pytest.mark.parametrize("auth", [None, ("plc-sender", "wrong"), ("other", INGEST_AUTH[1]),
                                  ("grafana", "test-password-not-secret")])
def test_wrong_credentials_are_401(ingest_client, auth):
    answer = ingest_client.post("/ingest", json=reading(), headers=basic(auth) if auth else {})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    assert counts(ingest_client)["ingest_refused_unauthorized"] == 1
    assert not published(ingest_client)


def test_grafana_credentials_cannot_be_reused_for_ingest(app_factory):
    from service_common.config import ConfigError
    with pytest.raises(ConfigError, match="must differ from Grafana's"):
        app_factory(**ingest_env(INGEST_PASSWORD="test-password-not-secret"))


def test_a_device_outside_the_patterns_is_403_and_nothing_is_published(ingest_client):
    status, answer = post(ingest_client, [reading(), reading(device="esp32-a1b2c3")])
    assert status == 403
    assert answer["forbidden"] == [{"index": 1, "device": "esp32-a1b2c3"}]
    assert counts(ingest_client)["ingest_refused_forbidden"] == 1
    assert post(ingest_client, reading(device="plc-2"))[0] == 202
    assert [t for t, _ in published(ingest_client)] == ["sensors/plc-2/temp"]


def test_the_services_client_ids_are_forbidden_whatever_the_patterns(app_factory):
    client = client_of(app_factory(**ingest_env(INGEST_DEVICES="*", WEBHOOK_CLIENT_ID="webhook-b",
                                          OPCUA_CLIENT_ID="bridge-2")))
    devices = ["webhook", "webhook-b", "listener", "opcua-bridge", "bridge-2", "actions",
               "console"]
    status, answer = post(client, [reading(device=d) for d in devices])
    assert status == 403
    assert [f["device"] for f in answer["forbidden"]] == devices
    assert counts(client)["ingest_refused_forbidden"] == 1
    assert post(client, reading(device="plc-9"))[0] == 202
    assert [t for t, _ in published(client)] == ["sensors/plc-9/temp"]


def test_too_large_body_and_too_many_readings_are_413(app_factory):
    client = client_of(app_factory(**ingest_env(INGEST_MAX_BODY_BYTES=2048,
                                                 INGEST_MAX_READINGS=10)))
    status, answer = post(client, [reading(measurement="x" * 100)] * 20)
    assert status == 413 and "INGEST_MAX_BODY_BYTES" in answer["reason"]
    status, answer = post(client, [reading()] * 11)
    assert status == 413 and "11 readings" in answer["reason"]
    assert "INGEST_MAX_READINGS" in answer["reason"]
    assert post(client, [reading()] * 10)[0] == 202
    counted = counts(client)
    assert counted["ingest_refused_too_large"] == 1
    assert counted["ingest_refused_too_many_readings"] == 1


@pytest.mark.parametrize("device", ["webhook ", " plc-1", "plc-1\u200b", "plc\u00ad-1"])
def test_a_device_name_with_outer_white_space_or_invisible_characters_is_422(ingest_client,
                                                                            device):
    status, answer = post(ingest_client, [reading(), reading(device=device)])
    assert status == 422 and answer["errors"][0]["kind"] == "bad_name"
    assert not published(ingest_client)


@pytest.mark.parametrize("device", ["tic101", "TIC101", "tic-101", "ｔｉｃ１０１", "sim",
                                    "esp32-a1", "Webhook", "LISTENER", "opcua_bridge",
                                    "console", "actions"])
def test_reserved_devices_and_look_alikes_are_forbidden_whatever_the_patterns(app_factory,
                                                                             device):
    client = client_of(app_factory(**ingest_env(INGEST_DEVICES="*",
                                                INGEST_RESERVED_DEVICES="tic101,sim,esp32-*")))
    status, answer = post(client, [reading(device="plc-1"), reading(device=device)])
    assert status == 403 and answer["forbidden"] == [{"index": 1, "device": device}]
    assert not published(client)
    assert post(client, reading(device="tic102"))[0] == 202


def test_one_user_creates_at_most_its_cap_of_devices(app_factory):
    client = client_of(app_factory(**ingest_env(INGEST_DEVICES="*",
                                                INGEST_MAX_DEVICES_PER_USER=5)))
    assert post(client, [reading(device=f"d-{i}") for i in range(4)])[0] == 202
    status, answer = post(client, [reading(device="d-0"), reading(device="d-4"),
                                   reading(device="d-5")])
    assert status == 403 and answer["new_devices"] == ["d-4", "d-5"]
    assert "INGEST_MAX_DEVICES_PER_USER" in answer["reason"]
    assert counts(client)["ingest_refused_too_many_devices"] == 1
    assert post(client, [reading(device="d-4"), reading(device="d-0")])[0] == 202
    assert post(client, reading(device="d-6"))[0] == 403
    # Its known devices stay writable; nothing of the refused requests was published.
    assert post(client, reading(device="d-1"))[0] == 202
    assert {t.split("/")[1] for t, _ in published(client)} == {f"d-{i}" for i in range(5)}
