"""The Flask app against the real harness broker, for what only a broker can show: retained
state read back by a fresh subscriber, the restore protocol, names mosquitto refuses, a frozen
broker (503, then republished), a broker that lost its retained state, subscriptions kept."""

import json
import logging
import os
import signal

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.wait import wait_until
from service_common.mqtt import MqttSettings
from tests.support.webhook import AUTH, grouped, instance, load_payload, unified
from webhook import mqtt_link
from webhook.mqtt_link import MqttLink

FIRING = unified(instance("Pot high", "firing", "f1", device="esp32-a1b2c3"))


def retained(broker, topic):
    return read_retained(broker.host, broker.port, topic)


def post(client, payload):
    return client.post("/alert", data=json.dumps(payload), auth=AUTH,
                       content_type="application/json")


def _seed(broker, retained_messages):
    with Probe(broker.host, broker.port) as probe:
        for topic, payload in retained_messages.items():
            probe.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)


def test_retained_state_read_back_by_a_fresh_subscriber(broker_app_factory, mosquitto):
    client = broker_app_factory().test_client()
    assert post(client, load_payload("grafana_docs_two_firing")).status_code == 200
    assert retained(mosquitto, "alerts/high-memory-usage") == b"1"
    assert retained(mosquitto, "alerts/high-cpu-usage") == b"1"
    resolved = load_payload("grafana_docs_two_firing")
    resolved["alerts"][0]["status"] = "resolved"
    assert post(client, resolved).json["published"] == {"alerts/high-memory-usage": "0"}
    assert retained(mosquitto, "alerts/high-memory-usage") == b"0"
    assert retained(mosquitto, "alerts/high-cpu-usage") == b"1"


def test_repeats_publish_nothing_new(broker_app_factory, mosquitto):
    client = broker_app_factory().test_client()
    with Probe(mosquitto.host, mosquitto.port, ["alerts/pot-high"]) as probe:
        assert [post(client, FIRING).status_code for _ in range(3)] == [200, 200, 200]
        probe.publish("alerts/pot-high", b"marker", qos=1)
        probe.wait_for("alerts/pot-high", b"marker")
        assert probe.payloads("alerts/pot-high") == [b"1", b"marker"]


@pytest.mark.parametrize("device", ["new\nline", "lone\ud800"], ids=["control", "surrogate"])
def test_a_device_mosquitto_would_refuse_does_not_break_the_connection(broker_app_factory,
                                                                       mosquitto, device):
    client = broker_app_factory().test_client()
    assert post(client, unified(instance("Pot high", "firing", "f1", device=device))
                ).status_code == 200
    assert post(client, unified(instance("Temp high", fingerprint="t"))).status_code == 200
    assert retained(mosquitto, "alerts/temp-high") == b"1"
    assert client.get("/healthz").status_code == 200


def test_topics_lagging_behind_the_state_document_are_republished_at_start_up(
        broker_app_factory, mosquitto):
    document = (b'{"alerts":{"pot-high":{"devices":["esp32-a"],"firing":{"f1":"esp32-a"}}},'
                b'"version":1}')
    _seed(mosquitto, {"alerts/_webhook/webhook/state": document, "alerts/pot-high": b"0"})
    broker_app_factory()
    wait_until(lambda: retained(mosquitto, "alerts/pot-high") == b"1", 10)
    assert retained(mosquitto, "alerts/pot-high/esp32-a") == b"1"


def test_known_alerts_without_state_start_at_zero(broker_app_factory, mosquitto):
    _seed(mosquitto, {"alerts/temp-low": b"1"})
    broker_app_factory(WEBHOOK_KNOWN_ALERTS="Pot high, temp-low")
    wait_until(lambda: retained(mosquitto, "alerts/pot-high") == b"0", 10)
    assert retained(mosquitto, "alerts/temp-low") == b"1"


def test_unacknowledged_publish_answers_503_and_is_republished(broker_app_factory, mosquitto):
    # The tests' publish timeout: a frozen broker misses any, and the retry below has to be
    # acknowledged within it by a broker that has just thawed. No counter report (and its sync)
    # in between: it would republish before the retry does.
    client = broker_app_factory(WEBHOOK_STATS_INTERVAL="3600").test_client()
    os.kill(mosquitto.process.pid, signal.SIGSTOP)  # connected, but nothing is acknowledged
    try:
        answer = post(client, FIRING)
    finally:
        os.kill(mosquitto.process.pid, signal.SIGCONT)
    assert answer.status_code == 503
    assert "did not acknowledge" in answer.json["reason"]
    retry = post(client, FIRING)
    assert retry.status_code == 200
    # Published by the retry, or already by the webhook itself once the thawed broker took the
    # publish it had given up on: either way the state the retry asks for is there.
    wait_until(lambda: retained(mosquitto, "alerts/pot-high") == b"1", 10,
               message=f"not republished: {retry.json}")


def test_a_broker_that_lost_its_retained_state_gets_it_again_on_reconnect(broker_app_factory,
                                                                          mosquitto_factory):
    broker = mosquitto_factory()
    app = broker_app_factory(broker)
    assert post(app.test_client(), FIRING).status_code == 200
    broker.kill()
    for saved in (broker.workdir / "data").iterdir():  # as if it crashed before its autosave
        saved.unlink()
    broker.start()
    wait_until(lambda: retained(broker, "alerts/pot-high/esp32-a1b2c3") == b"1", 40,
               message="the webhook did not republish after the broker lost its state")
    assert retained(broker, "alerts/pot-high") == b"1"


def test_publish_messages_waits_for_every_puback(broker_app_factory, mosquitto):
    publisher = broker_app_factory().extensions["alert_publisher"]
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        publisher.publish_messages([("sensors/plc-1/temp", b"21.5"), ("sensors/plc-1/rh", b"40")])
        probe.wait_for("sensors/plc-1/rh", b"40")
        assert probe.received("sensors/plc-1/temp") == [("sensors/plc-1/temp", b"21.5", False)]
    assert retained(mosquitto, "sensors/plc-1/temp") is None


def test_an_instance_missing_from_its_alerts_notification_is_resolved(broker_app_factory,
                                                                      mosquitto):
    client = broker_app_factory().test_client()
    a = instance("Pot high", "firing", "a", device="esp32-a")
    b = instance("Pot high", "firing", "b", device="esp32-b")
    assert post(client, grouped("Pot high", a, b)).status_code == 200
    assert retained(mosquitto, "alerts/pot-high/esp32-b") == b"1"
    assert post(client, grouped("Pot high", a)).status_code == 200
    assert retained(mosquitto, "alerts/pot-high/esp32-b") == b"0"
    assert retained(mosquitto, "alerts/pot-high/esp32-a") == b"1"
    assert retained(mosquitto, "alerts/pot-high") == b"1"


def test_a_link_subscription_is_kept_across_a_broker_restart(mosquitto_factory):
    broker = mosquitto_factory()
    received = []
    link = MqttLink(MqttSettings(host=broker.host, port=broker.port, client_id="link-test",
                                 keepalive=5))
    link.subscribe("alerts/+/ack", lambda topic, payload, retain: received.append(payload))
    link.start(lambda: None)
    try:
        wait_until(lambda: link.connected, 10)
        with Probe(broker.host, broker.port) as probe:
            wait_until(lambda: probe.publish("alerts/pot-high/ack", b"1") and received, 10)
        broker.stop()
        broker.start()
        wait_until(lambda: link.connected, 40)
        with Probe(broker.host, broker.port) as probe:
            wait_until(lambda: probe.publish("alerts/pot-high/ack", b"2") and b"2" in received,
                       10)
    finally:
        link.close()


def test_a_sync_marker_the_acl_drops_is_logged_and_the_read_retried(
        broker_app_factory, mosquitto_factory, tmp_path, monkeypatch, caplog):
    acl = tmp_path / "acl"
    acl.write_text("topic read #\ntopic write status/#\n")  # no write on the sync topic
    broker = mosquitto_factory(config=f"acl_file {acl}")
    monkeypatch.setattr(mqtt_link, "RESTORE_DEADLINE", 0.5)
    with caplog.at_level(logging.ERROR, logger="webhook.mqtt_link"):
        app = broker_app_factory(broker, wait=False)

        def errors():
            return [r.getMessage() for r in caplog.records
                    if "alerts/_webhook/webhook/sync" in r.getMessage()]
        wait_until(lambda: len(errors()) >= 2, 10, message="no error about the sync topic")
    assert "ACL" in errors()[0]
    assert app.test_client().get("/healthz").status_code == 503
