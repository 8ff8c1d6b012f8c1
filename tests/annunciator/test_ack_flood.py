"""Issue 20 A.1: one indicator identity floods acknowledgements (QoS 0, as fast as mosquitto_pub
can send them) while Grafana's notifications keep coming: every `/alert` is answered 200 (the
broker acknowledged its publishes), the flood is cut off at the broker and counted, and a real
press is applied once the flood stops. The real broker and the real `python -m webhook`."""

import json
import subprocess
import sys

import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.paths import ROOT
from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from tests.support.deployed_broker import deployed_options
from tests.support.webhook import grouped, http, instance, webhook_env

STATE = "alerts/pot-high/esp32-a/annunciator"


@pytest.fixture
def mosquitto(mosquitto_factory):
    """With the deployed queue limits: a slow subscriber may have 100,000 messages queued."""
    return mosquitto_factory(config=deployed_options())


@pytest.fixture
def webhook(mosquitto):
    port = free_port()
    env = webhook_env(mosquitto, WEBHOOK_PORT=port, PYTHONPATH=ROOT, WEBHOOK_ANNUNCIATOR="isa",
                      WEBHOOK_PUBLISH_TIMEOUT="5", WEBHOOK_STATS_INTERVAL="0.5")
    service = Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                      ready=lambda: port_open(port), port=port)
    service.url = f"http://127.0.0.1:{port}"
    service.start()
    yield service
    service.close()


# One identity publishing QoS 0 acknowledgements as fast as paho can (about 20,000/s here).
FLOODER = """
import sys
import paho.mqtt.client as mqtt
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="esp8266-thief")
client.connect(sys.argv[1], int(sys.argv[2]))
client.loop_start()
while True:
    client.publish(sys.argv[3], b"esp8266-thief", qos=0)
"""


@pytest.fixture
def flood(mosquitto):
    """`flood(topic)` starts a process flooding `topic`; returns a function that stops it."""
    processes = []

    def start(topic):
        process = subprocess.Popen([sys.executable, "-c", FLOODER, mosquitto.host,
                                    str(mosquitto.port), topic])
        processes.append(process)
        return process.kill

    yield start
    for process in processes:
        process.kill()
        process.wait(10)


def counters(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/webhook/+"]) as probe:
        wait_until(lambda: probe.last("sensors/webhook/ack_flood_paused") is not None, 10)
        return {t.rsplit("/", 1)[1]: int(p) for t, p, _ in probe.received()}


@pytest.mark.parametrize("topic", ["alerts/pot-high/ack/esp8266-thief", "alerts/pot-high/ack"],
                         ids=["sender-topic", "old-topic"])
def test_an_ack_flood_never_starves_alert(webhook, mosquitto, flood, topic):
    code, body = http(webhook.url, "/alert", grouped(
        "Pot high", instance("Pot high", "firing", "f1", device="esp32-a")))
    assert code == 200, body
    stop = flood(topic)
    try:
        with Probe(mosquitto.host, mosquitto.port, [topic], qos=0) as watcher:
            # The flood is on: a slow subscriber has a backlog by now.
            wait_until(lambda: len(watcher.received()) >= 20_000, 60,
                       message="the flood did not get going")
        for status in ("resolved", "firing", "resolved", "firing", "resolved", "firing"):
            code, body = http(webhook.url, "/alert", grouped(
                "Pot high", instance("Pot high", status, "f1", device="esp32-a")))
            assert code == 200, body
        counts = counters(mosquitto)
    finally:
        stop()
    assert counts["ack_flood_paused"] >= 1
    assert read_retained(mosquitto.host, mosquitto.port, STATE) == b"unacked"
    # Once the flood is over, a press is applied again (the pause ends by itself).
    with Probe(mosquitto.host, mosquitto.port, [STATE]) as probe:
        def press():
            probe.publish("alerts/pot-high/esp32-a/ack/esp8266-b2", b"", qos=1)
            return probe.last(STATE) == b"acked"
        wait_until(press, 60, interval=1.0, message="a press after the flood was never applied")
    print(json.dumps({k: v for k, v in counts.items() if k.startswith("ack")}))
