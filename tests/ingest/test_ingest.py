"""`POST /ingest` against the real broker: every answer docs/ingest.md lists, all-or-nothing
refusal, rights per user, limits, and every refusal counted by reason."""

import json
import time

from devstack.wait import wait_until
from service_common.readings import parse_payload
from tests.support.ingest import ingest_env, reading
from tests.support.ingest import post_client as post
from webhook.config import read_config

NOW_MS = int(time.time() * 1000)


def counts(client):
    return client.app.extensions["alert_publisher"].counts_snapshot()


def test_one_reading_is_published_at_qos1_not_retained(ingest_client, sensors):
    status, body = post(ingest_client, reading(ts=NOW_MS, seq=7))
    assert (status, body) == (202, {"status": "accepted", "readings": 1})
    sensors.wait_for("sensors/plc-1/temp")
    [(topic, payload, retained)] = sensors.received("sensors/plc-1/temp")
    assert not retained
    assert parse_payload(payload, 1024, read_config(ingest_env(WEBHOOK_USERNAME="g",
                                                               WEBHOOK_PASSWORD="p"))
                         .ingest.rules, NOW_MS) == (21.5, NOW_MS, 7)
    assert counts(ingest_client)["ingest_readings"] == 1


def test_an_array_is_published_in_order(ingest_client, sensors):
    readings = [reading(value=i, seq=i) for i in range(50)] + [reading("gw-1", "rpm", 3)]
    assert post(ingest_client, readings) == (202, {"status": "accepted", "readings": 51})
    wait_until(lambda: len(sensors.received()) == 51, 10)
    payloads = [json.loads(p) for p in sensors.payloads("sensors/plc-1/temp")]
    assert [p["seq"] for p in payloads] == list(range(50))
    # Sent without ts, each is stamped on arrival, never twice the same ms in a series, so that the
    # outbox's replay stores it once (webhook/ingest_outbox.py).
    stamps = [p["ts"] for p in payloads]
    assert all(a < b for a, b in zip(stamps, stamps[1:]))
    rpm = json.loads(sensors.last("sensors/gw-1/rpm"))
    assert rpm["value"] == 3.0 and abs(rpm["ts"] - time.time() * 1000) < 60_000


def test_broker_down_is_503_and_counted(broker_app_factory, mosquitto_factory):
    broker = mosquitto_factory()
    app = broker_app_factory(broker=broker, **ingest_env())
    client = app.test_client()
    client.app = app
    assert post(client, reading())[0] == 202
    broker.stop()
    publisher = app.extensions["alert_publisher"]
    wait_until(lambda: not publisher.connected, 15)
    status, answer = post(client, reading(ts=NOW_MS))
    assert status == 503 and "send the request again" in answer["reason"]
    assert counts(client)["ingest_refused_broker_unavailable"] == 1


def test_ingest_is_off_without_users(broker_app_factory):
    client = broker_app_factory().test_client()
    assert client.post("/ingest", json=reading()).status_code == 404


def test_the_same_rules_as_the_listener(ingest_client, sensors):
    """What /ingest publishes, the listener's parser accepts unchanged (names included)."""
    from listener.parse import Parser
    body = [reading(device="plc-ü,1 x", measurement="temp=1", value=-0.0, ts=NOW_MS, seq=-5),
            reading(device="plc-2", measurement="m" * 128, value=1e308)]
    assert post(ingest_client, body)[0] == 202
    wait_until(lambda: len(sensors.received()) == 2, 10)
    parser = Parser()
    # Received now: /ingest stamps a reading without ts with the time it arrived.
    points = [parser.parse(t, p, time.time_ns()) for t, p, _ in sensors.received()]
    assert [(p.device, p.measurement, p.value, p.seq) for p in points] == [
        ("plc-ü,1 x", "temp=1", -0.0, -5), ("plc-2", "m" * 128, 1e308, None)]
