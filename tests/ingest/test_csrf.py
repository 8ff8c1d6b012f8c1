"""Cross-site request forgery on `/ack` and `/ingest` (webhook/csrf.py): a form posted from
another site's page, with the browser's cached credentials, acknowledges nothing and stores
nothing; a foreign Origin is refused; curl and the documented clients keep working. On the
in-memory link."""

import json

import pytest

from tests.support.annunciator import ACK_AUTH, env, notification
from tests.support.ingest import INGEST_AUTH, ingest_env
from tests.support.webhook import AUTH, basic

READING = {"device": "plc-1", "measurement": "temp", "value": 1}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def client(app_factory):
    app = app_factory(**env(**ingest_env()))
    client = app.test_client()
    client.app = app
    fired = client.post("/alert", json=notification(("firing", "f1", None)), headers=basic(AUTH))
    assert fired.status_code == 200
    return client


def state(client):
    return client.app.link.retained["alerts/pot-high/annunciator"].decode()


def readings(client):
    return [t for t, _, _ in client.app.link.published if t.startswith("sensors/")]


def counts(client):
    return client.app.extensions["counters"].snapshot()


def test_a_form_posted_from_another_site_acknowledges_nothing(client):
    """What a browser sends for `<form method=post action=http://pi:5000/ack/pot-high>` on
    another site's page: a form's Content-Type and that site's Origin."""
    answer = client.post("/ack/pot-high", data="x=1", content_type=FORM, headers={
        **basic(ACK_AUTH), "Origin": "http://evil.example"})
    assert answer.status_code == 403 and "cross-site" in answer.json["reason"]
    assert state(client) == "unacked"
    assert counts(client)["ack_refused_foreign_origin"] == 1


@pytest.mark.parametrize("content_type", [FORM, "multipart/form-data; boundary=x", "text/plain"])
def test_a_form_without_origin_is_refused_too(client, content_type):
    """Older browsers send no Origin with a form: its Content-Type gives it away."""
    answer = client.post("/ack/pot-high", data="x=1", content_type=content_type,
                         headers=basic(ACK_AUTH))
    assert answer.status_code == 415 and "application/json" in answer.json["reason"]
    assert state(client) == "unacked"
    body = json.dumps(READING)  # the classic trick: JSON sent as text/plain
    answer = client.post("/ingest", data=body, content_type=content_type,
                         headers=basic(INGEST_AUTH))
    assert answer.status_code == 415 and not readings(client)
    assert counts(client)["ack_refused_not_json"] == 1
    assert counts(client)["ingest_refused_not_json"] == 1


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1",
                                    "http://localhost.evil.example"])
def test_a_foreign_origin_is_refused_even_with_json(client, origin):
    answer = client.post("/ingest", json=READING, headers={**basic(INGEST_AUTH),
                                                           "Origin": origin})
    assert answer.status_code == 403 and not readings(client)
    assert counts(client)["ingest_refused_foreign_origin"] == 1


def test_the_same_site_and_plain_clients_are_served(client):
    """The webhook's own host as Origin (a page served behind the same proxy), and clients that
    send no Origin: curl, PLCs, Node-RED."""
    same = {"Origin": "http://localhost"}
    assert client.post("/ingest", json=READING, headers={**basic(INGEST_AUTH), **same}) \
        .status_code == 202
    assert client.post("/ingest", json=READING, headers=basic(INGEST_AUTH)).status_code == 202
    # `curl -u operator:… -X POST http://pi:5000/ack/pot-high`: no body, no Content-Type.
    answer = client.post("/ack/pot-high", headers=basic(ACK_AUTH))
    assert answer.status_code == 200 and state(client) == "acked"


def test_ingest_needs_a_json_content_type(client):
    answer = client.post("/ingest", data=json.dumps(READING), headers=basic(INGEST_AUTH))
    assert answer.status_code == 415 and "Content-Type: application/json" in \
        answer.json["reason"]
    assert answer.json["error"] == "not JSON"
