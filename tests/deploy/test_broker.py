"""The shipped broker config (mosquitto/config) on the real mosquitto, with a password file
made by `make secrets`: who may connect, publish and read, and what survives a restart."""

import contextlib
import shutil
import subprocess
import uuid

import paho.mqtt.client as mqtt
import pytest
import yaml

from devstack.mqtt_probe import Probe, read_retained
from devstack.wait import wait_until
from tests.deploy.conftest import ROOT

CONFIG_DIR = ROOT / "mosquitto" / "config"
# Options the harness sets itself (port, data folder, log file) or that name container paths.
HARNESS_OWNED = ("listener", "protocol", "persistence_location", "autosave_interval", "log_dest",
                 "password_file", "acl_file", "user")
PASSWORD_SETTING = {"listener": "MQTT_LISTENER_PASSWORD", "webhook": "MQTT_WEBHOOK_PASSWORD",
                    "sensor": "MQTT_SENSOR_PASSWORD", "indicator": "MQTT_INDICATOR_PASSWORD"}
OBSERVER = ("observer", "observer-password")  # test-only user that sees everything


def shipped_options():
    lines = []
    for line in (CONFIG_DIR / "mosquitto.conf").read_text().splitlines():
        words = line.split()
        if words and not line.startswith("#") and words[0] not in HARNESS_OWNED:
            lines.append(line)
    return lines


@pytest.fixture
def broker(mosquitto_factory, generated, make_secrets, tmp_path):
    """The real broker with the shipped options, ACL and a generated password file, plus a
    test-only `observer` user (appended after the shipped rules) that reads and writes all."""
    acl = tmp_path / "acl"
    acl.write_text((CONFIG_DIR / "acl").read_text()
                   + f"\nuser {OBSERVER[0]}\ntopic readwrite #\n")
    passwd = tmp_path / "passwd-with-observer"
    passwd.write_text(generated["passwd_path"].read_text()
                      + f"{OBSERVER[0]}:{make_secrets.hash_password(OBSERVER[1])}\n")
    config = "\n".join(shipped_options() + [f"password_file {passwd}", f"acl_file {acl}"])
    server = mosquitto_factory(config=config)
    server.env = generated["env"]
    return server


def credentials(broker, user):
    if user is None:
        return None, None
    if user == OBSERVER[0]:
        return OBSERVER
    return user, broker.env[PASSWORD_SETTING[user]]


def connack(broker, username, password, client_id=None):
    """The broker's CONNACK reason code for these credentials."""
    answers = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"t-{uuid.uuid4().hex[:8]}")
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, reason_code, _p: answers.append(reason_code)
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        wait_until(lambda: answers, 10, message="no CONNACK")
    finally:
        client.disconnect()
        client.loop_stop()
    return answers[0]


def client_for(broker, user, client_id=None, topics=()):
    username, password = credentials(broker, user)
    return Probe(broker.host, broker.port, topics, username, password,
                 client_id=client_id or f"{user}-{uuid.uuid4().hex[:6]}")


def delivered(broker, publisher, topic, client_id=None):
    """Whether a QoS 1 publish by `publisher` on `topic` reaches a subscriber that may read all.

    The broker handles messages in order, so once the observer has its own later marker back,
    the publish was either delivered already or dropped by the ACL."""
    marker = f"marker/{uuid.uuid4().hex}"
    with client_for(broker, OBSERVER[0], topics=["#"]) as observer, \
            client_for(broker, publisher, client_id) as sender:
        sender.publish(topic, b"42", qos=1)
        observer.publish(marker, b"", qos=1)
        observer.wait_for(marker)
        return observer.payloads(topic) == [b"42"]


def readable(broker, reader, topic_filter, topic):
    """Whether `reader`, subscribed to `topic_filter`, receives a message on `topic`.

    The broker writes to a client's socket in order and paho handles what it reads in order:
    once the reader has the acknowledgement of a publish it sent after the observer's message
    was taken, that message has been delivered to it or it never will be."""
    with client_for(broker, reader, topics=[topic_filter]) as subscriber, \
            client_for(broker, OBSERVER[0]) as observer:
        observer.publish(topic, b"7", qos=1)
        subscriber.publish(f"marker/{uuid.uuid4().hex}", b"", qos=1)
        return subscriber.payloads(topic) == [b"7"]


@pytest.mark.parametrize("user, password, accepted", [
    (None, None, False),
    ("sensor", "not-the-password", False),
    ("nobody", "whatever", False),
    ("listener", "from .env", True),
    ("webhook", "from .env", True),
    ("sensor", "from .env", True),
    ("indicator", "from .env", True),
], ids=["anonymous-refused", "wrong-password-refused", "unknown-user-refused",
        "listener-accepted", "webhook-accepted", "sensor-accepted", "indicator-accepted"])
def test_only_known_clients_connect(broker, user, password, accepted):
    if password == "from .env":
        password = broker.env[PASSWORD_SETTING[user]]
    reason = connack(broker, user, password)
    assert reason.is_failure != accepted, str(reason)


@pytest.mark.parametrize("publisher, client_id, topic, allowed", [
    ("sensor", "esp32-a1b2c3", "sensors/esp32-a1b2c3/pot", True),
    ("sensor", "esp32-a1b2c3", "status/esp32-a1b2c3", True),
    ("sensor", "esp32-a1b2c3", "status/webhook", False),
    ("sensor", "esp32-a1b2c3", "alerts/pot-high", False),
    ("webhook", "webhook", "alerts/pot-high", True),
    ("webhook", "webhook", "alerts/pot-high/esp32-a1b2c3", True),
    ("webhook", "webhook", "status/webhook", True),
    ("webhook", "webhook", "sensors/esp32-a1b2c3/pot", False),
    ("listener", "listener", "status/listener", True),
    ("listener", "listener", "sensors/esp32-a1b2c3/pot", False),
    ("listener", "listener", "alerts/pot-high", False),
    ("indicator", "esp8266-d4e5f6", "alerts/pot-high", False),
    ("indicator", "esp8266-d4e5f6", "sensors/esp8266-d4e5f6/pot", False),
], ids=lambda value: str(value))
def test_who_may_publish_where(broker, publisher, client_id, topic, allowed):
    assert delivered(broker, publisher, topic, client_id) == allowed


@pytest.mark.parametrize("reader, topic_filter, topic, allowed", [
    ("listener", "sensors/+/+", "sensors/esp32-a1b2c3/pot", True),
    ("listener", "alerts/#", "alerts/pot-high", False),
    ("webhook", "alerts/#", "alerts/pot-high", True),
    ("webhook", "sensors/+/+", "sensors/esp32-a1b2c3/pot", False),
    ("indicator", "alerts/#", "alerts/pot-high", True),
    ("indicator", "status/#", "status/webhook", True),
    ("indicator", "sensors/+/+", "sensors/esp32-a1b2c3/pot", False),
    ("sensor", "sensors/+/+", "sensors/esp32-a1b2c3/pot", False),
    ("sensor", "alerts/#", "alerts/pot-high", False),
], ids=lambda value: str(value))
def test_who_may_read_what(broker, reader, topic_filter, topic, allowed):
    assert readable(broker, reader, topic_filter, topic) == allowed


@contextlib.contextmanager
def listener_session(broker, received=None):
    """The listener's persistent session (clean_session=False, client id `listener`)."""
    username, password = credentials(broker, "listener")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="listener",
                         clean_session=False)
    client.username_pw_set(username, password)
    if received is not None:
        client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def test_alert_state_and_queued_readings_survive_a_restart(broker):
    """Retained alert states and QoS 0 readings queued for the listener's persistent session
    are still there after the broker restarts (persistence, queue_qos0_messages)."""
    with listener_session(broker) as session:
        subscribed = []
        session.on_subscribe = lambda *args: subscribed.append(True)
        session.subscribe("sensors/+/+", qos=1)
        wait_until(lambda: subscribed, 10, message="listener session could not subscribe")

    with client_for(broker, "sensor", "esp32-a1b2c3") as sensor, \
            client_for(broker, "webhook", "webhook") as webhook:
        for value in (b"10", b"20", b"30"):
            sensor.publish("sensors/esp32-a1b2c3/pot", value, qos=0)
        # The broker reads a connection in order: once this QoS 1 reading is acknowledged, the
        # QoS 0 ones before it are queued too.
        sensor.publish("sensors/esp32-a1b2c3/pot", b"40", qos=1)
        webhook.publish("alerts/pot-high", b"1", qos=1, retain=True)
    broker.restart()

    assert read_retained(broker.host, broker.port, "alerts/pot-high", *OBSERVER) == b"1"
    received = []
    with listener_session(broker, received):
        wait_until(lambda: len(received) >= 4, 10,
                   message=f"queued readings lost: got {received!r}")
    assert received == [b"10", b"20", b"30", b"40"]


def broker_healthcheck(port):
    """The compose healthcheck of the mosquitto service, pointed at `port`."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    kind, command = compose["services"]["mosquitto"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    command = command.replace("$$", "$").replace("-p 1883", f"-p {port}")
    return subprocess.run(["sh", "-c", command], capture_output=True, timeout=30).returncode


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients missing")
def test_the_compose_healthcheck_passes_on_the_broker_and_fails_without_it(broker):
    assert broker_healthcheck(broker.port) == 0
    broker.stop()
    assert broker_healthcheck(broker.port) != 0


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients missing")
def test_the_compose_healthcheck_fails_on_a_broker_that_admits_anonymous(mosquitto):
    assert broker_healthcheck(mosquitto.port) != 0
