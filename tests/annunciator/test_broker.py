"""The annunciator on the real broker: a press published by another client reaches the webhook
(QoS 1 subscription), the new states are retained for a fresh subscriber, the journal is QoS 1
and not retained."""

import json

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.wait import wait_until
from tests.support.annunciator import JOURNAL, env, notification
from webhook import close_app, create_app
from webhook.config import read_config
from webhook.notification import parse


@pytest.fixture
def app(mosquitto):
    app = create_app(read_config(env(MQTT_HOST=mosquitto.host, MQTT_PORT=mosquitto.port)))
    publisher = app.extensions["alert_publisher"]
    wait_until(lambda: publisher.ready, 10, message="webhook did not restore its state")
    yield app
    close_app(app)


def test_a_press_from_another_client_is_acknowledged(app, mosquitto):
    publisher = app.extensions["alert_publisher"]
    with Probe(mosquitto.host, mosquitto.port, [JOURNAL]) as probe:
        publisher.apply(parse(notification(("firing", "fa", "esp32-a"))))
        probe.publish("alerts/pot-high/esp32-a/ack", b"esp8266-b2", qos=1)
        wait_until(lambda: read_retained(mosquitto.host, mosquitto.port,
                                         "alerts/pot-high/annunciator") == b"acked", 10)
        assert read_retained(mosquitto.host, mosquitto.port,
                             "alerts/pot-high/esp32-a/annunciator") == b"acked"
        wait_until(lambda: len(probe.received(JOURNAL)) == 4, 10)
        entries = [json.loads(p) for _, p, _ in probe.received(JOURNAL)]
        assert [(e["device"], e["to"], e["by"]) for e in entries] == [
            ("esp32-a", "unacked", None), (None, "unacked", None),
            ("esp32-a", "acked", "esp8266-b2"), (None, "acked", "esp8266-b2")]
        assert not any(retain for _, _, retain in probe.received(JOURNAL))
    assert read_retained(mosquitto.host, mosquitto.port, JOURNAL) is None


def test_a_press_under_the_senders_id_names_it_whatever_the_payload(app, mosquitto):
    publisher = app.extensions["alert_publisher"]
    with Probe(mosquitto.host, mosquitto.port, [JOURNAL]) as probe:
        publisher.apply(parse(notification(("firing", "fa", "esp32-a"))))
        probe.publish("alerts/pot-high/esp32-a/ack/esp8266-b2", b"someone-else", qos=1)
        wait_until(lambda: len(probe.received(JOURNAL)) == 4, 10)
        entries = [json.loads(p) for _, p, _ in probe.received(JOURNAL)]
        assert [(e["device"], e["to"], e["by"]) for e in entries][2:] == [
            ("esp32-a", "acked", "esp8266-b2"), (None, "acked", "esp8266-b2")]
    info = json.loads(read_retained(mosquitto.host, mosquitto.port, "alerts/pot-high/esp32-a/info"))
    assert info["acked_by"] == "esp8266-b2" and info["state"] == "acked"
