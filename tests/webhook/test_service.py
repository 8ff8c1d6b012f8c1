"""The real `python -m webhook` (waitress) against the harness broker: state across restarts,
a broker outage (503, then success), and the Last Will on kill -9."""

import pytest

from devstack.mqtt_probe import read_retained
from devstack.wait import wait_until
from tests.support.webhook import http, instance, unified


def retained(broker, topic):
    return read_retained(broker.host, broker.port, topic)


def healthy(service):
    return http(service.url, "/healthz", auth=None)[0] == 200


def alerts(*instances):
    return unified(*[instance("Pot high", status, fp, **labels)
                     for status, fp, labels in instances])


def restart(service, how):
    if how == "kill-9":
        service.kill()
        service.start()
    else:
        service.restart()
    wait_until(lambda: healthy(service), 15, message="webhook not healthy after restart")


@pytest.mark.parametrize("labels", [{"device": "esp32-a"}, {}], ids=["devices", "no-device"])
@pytest.mark.parametrize("how", ["graceful", "kill-9"])
def test_two_firing_restart_one_resolved_alert_stays_on(webhook_service, mosquitto, how,
                                                        labels):
    service = webhook_service()
    wait_until(lambda: healthy(service), 15)
    first = {k: v + "1" for k, v in labels.items()}
    second = {k: v + "2" for k, v in labels.items()}
    status, _ = http(service.url, "/alert", alerts(("firing", "fp1", first),
                                                   ("firing", "fp2", second)))
    assert status == 200
    restart(service, how)
    status, answer = http(service.url, "/alert", alerts(("resolved", "fp1", first)))
    assert status == 200
    assert retained(mosquitto, "alerts/pot-high") == b"1"
    if labels:
        assert retained(mosquitto, "alerts/pot-high/esp32-a1") == b"0"
        assert retained(mosquitto, "alerts/pot-high/esp32-a2") == b"1"
    status, answer = http(service.url, "/alert", alerts(("resolved", "fp2", second)))
    assert answer["published"]["alerts/pot-high"] == "0"
    assert retained(mosquitto, "alerts/pot-high") == b"0"


def test_broker_outage_answers_503_then_succeeds(webhook_service, mosquitto_factory):
    broker = mosquitto_factory()
    service = webhook_service(broker)
    wait_until(lambda: healthy(service), 15)
    firing = alerts(("firing", "fp1", {}))
    assert http(service.url, "/alert", firing)[0] == 200

    broker.stop()
    wait_until(lambda: not healthy(service), 15, message="healthz still 200 without broker")
    assert http(service.url, "/healthz", auth=None)[1]["mqtt_connected"] is False
    other = unified(instance("Temp high", "firing", "t1"))
    status, answer = http(service.url, "/alert", other)
    assert status == 503
    assert answer["error"] == "broker unavailable"

    broker.start()
    wait_until(lambda: healthy(service), 40, message="webhook did not reconnect")
    status, answer = http(service.url, "/alert", other)
    assert status == 200
    assert retained(broker, "alerts/temp-high") == b"1"
    assert retained(broker, "alerts/pot-high") == b"1"


@pytest.mark.parametrize("how", ["kill-9", "graceful"])
def test_status_online_then_offline(webhook_service, mosquitto, how):
    service = webhook_service()
    wait_until(lambda: retained(mosquitto, "status/webhook") == b"online", 15)
    service.kill() if how == "kill-9" else service.stop()
    wait_until(lambda: retained(mosquitto, "status/webhook") == b"offline", 15,
               message="no offline status after the webhook died")
