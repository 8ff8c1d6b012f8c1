"""The shipped broker config (mosquitto/config) on the real mosquitto, set up as deployed: the
services' users from `make secrets`, boards and a listener replica registered with
`make device`, the ACL assembled by the compose command. Who may connect, publish and read,
and what one board's stolen password can do (issue 11's table, the broker's rows)."""

import contextlib
import shutil
import socket
import struct
import subprocess
import uuid

import paho.mqtt.client as mqtt
import psutil
import pytest
import yaml

from devstack.mqtt_probe import Probe, read_retained
from devstack.paths import ROOT
from devstack.wait import wait_until
from service_common import journal
from webhook.journal_out import JOURNAL_LIMIT
from webhook.notification import InstanceUpdate, Notification
from webhook.state import MAX_ENTRIES_ALLOWED, AlertStore, Limits
from webhook.topics import MAX_ALERT_CHARS, MAX_DEVICE_CHARS

CONFIG_DIR = ROOT / "mosquitto" / "config"
# Options the harness sets itself (port, data folder, log file) or that name container paths.
HARNESS_OWNED = ("listener", "protocol", "persistence_location", "autosave_interval", "log_dest",
                 "password_file", "acl_file", "user")
SERVICE_PASSWORDS = {"listener": "MQTT_LISTENER_PASSWORD", "webhook": "MQTT_WEBHOOK_PASSWORD",
                     "opcua-bridge": "MQTT_OPCUA_BRIDGE_PASSWORD"}
SENSOR, OTHER_SENSOR, INDICATOR, REPLICA = ("esp32-a1b2c3", "esp32-b2c3d4", "esp8266-d4e5f6",
                                            "listener-2")
BOARDS = {SENSOR: "sensor", OTHER_SENSOR: "sensor", INDICATOR: "indicator", REPLICA: "listener"}
OBSERVER = ("observer", "observer-password")  # test-only user that sees everything
STOLEN = (SENSOR, INDICATOR)  # one board's password, as read from its flash


def shipped_options():
    lines = []
    for line in (CONFIG_DIR / "mosquitto.conf").read_text().splitlines():
        words = line.split()
        if words and not line.startswith("#") and words[0] not in HARNESS_OWNED:
            lines.append(line)
    return lines


def assemble_auth(config_dir, auth_dir):
    """Run the mosquitto service's start command from docker-compose.yml with its container
    paths mapped to these folders (and without chown and the final exec)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["mosquitto"]["command"][-1]
    command = (command.replace("/mosquitto/config", str(config_dir))
               .replace("/mosquitto/auth", str(auth_dir))
               .replace("chown -R mosquitto:mosquitto", "true")
               .replace(f"exec mosquitto -c {config_dir}/mosquitto.conf", "true"))
    subprocess.run(["sh", "-c", command], check=True, timeout=30)


@pytest.fixture
def broker(mosquitto_factory, generated, make_secrets, devices, tmp_path):
    """The real broker with the shipped options and ACL, the services' users from `make
    secrets`, four clients registered with `make device`, and a test-only `observer` user that
    reads and writes all (registered after them, as a board would be)."""
    config_dir, auth_dir = tmp_path / "config", tmp_path / "auth"
    config_dir.mkdir()
    shutil.copy(CONFIG_DIR / "acl", config_dir / "acl")
    shutil.copy(generated["passwd_path"], config_dir / "passwd")
    registry = devices.Registry(config_dir / "passwd", config_dir / "devices.acl",
                                tmp_path / "boards")
    passwords = {user: generated["env"][setting] for user, setting in SERVICE_PASSWORDS.items()}
    passwords.update({name: registry.add(name, role) for name, role in BOARDS.items()})
    with open(config_dir / "passwd", "a") as passwd:
        passwd.write(f"{OBSERVER[0]}:{make_secrets.hash_password(OBSERVER[1])}\n")
    with open(config_dir / "devices.acl", "a") as acl:
        acl.write(f"\nuser {OBSERVER[0]}\ntopic readwrite #\n")
    passwords[OBSERVER[0]] = OBSERVER[1]
    assemble_auth(config_dir, auth_dir)
    config = "\n".join(shipped_options() + [f"password_file {auth_dir}/passwd",
                                            f"acl_file {auth_dir}/acl"])
    server = mosquitto_factory(config=config)
    server.passwords, server.registry = passwords, registry
    server.config_dir, server.auth_dir = config_dir, auth_dir
    return server


def connack(broker, username, password, client_id=None, will_topic=None):
    """The broker's CONNACK reason code for these credentials. With `will_topic`, the client
    sets a Last Will there and then vanishes without a DISCONNECT, so the will is due."""
    answers = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"t-{uuid.uuid4().hex[:8]}")
    if username is not None:
        client.username_pw_set(username, password)
    if will_topic:
        client.will_set(will_topic, b"offline", qos=1, retain=True)
    client.on_connect = lambda _c, _u, _f, reason_code, _p: answers.append(reason_code)
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        wait_until(lambda: answers, 10, message="no CONNACK")
    finally:
        client.loop_stop()
        if will_topic and client.socket():
            client.socket().close()
        else:
            client.disconnect()
    return answers[0]


def client_for(broker, user, client_id=None, topics=()):
    """A client with `user`'s credentials; `client_id` is what it asks for (the broker gives it
    its username instead)."""
    return Probe(broker.host, broker.port, topics, user, broker.passwords[user],
                 client_id=client_id or f"{user}-{uuid.uuid4().hex[:6]}")


def delivered(broker, publisher, topic, client_id=None, retain=False):
    """Whether a QoS 1 publish by `publisher` on `topic` reaches a subscriber that may read all.

    The broker handles messages in order, so once the observer has its own later marker back,
    the publish was either delivered already or dropped by the ACL."""
    marker = f"marker/{uuid.uuid4().hex}"
    with client_for(broker, OBSERVER[0], topics=["#"]) as observer, \
            client_for(broker, publisher, client_id) as sender:
        sender.publish(topic, b"42", qos=1, retain=retain)
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


# --- who may connect ----------------------------------------------------------------------------

@pytest.mark.parametrize("user, password, accepted", [
    (None, None, False),
    (SENSOR, "not-the-password", False),
    ("nobody", "whatever", False),
    ("sensor", "anything", False),
    ("indicator", "anything", False),
    ("listener", "own", True),
    ("webhook", "own", True),
    ("opcua-bridge", "own", True),
    (SENSOR, "own", True),
    (INDICATOR, "own", True),
    (REPLICA, "own", True),
    (SENSOR, OTHER_SENSOR, False),
], ids=["anonymous", "wrong-password", "unknown-user", "retired-sensor-user",
        "retired-indicator-user", "listener", "webhook", "opcua-bridge", "sensor-board",
        "indicator-board", "listener-replica", "another-boards-password"])
def test_only_registered_clients_connect(broker, user, password, accepted):
    if password == "own":
        password = broker.passwords[user]
    elif password in broker.passwords:
        password = broker.passwords[password]
    reason = connack(broker, user, password)
    assert reason.is_failure != accepted, str(reason)


# --- who may publish and read what --------------------------------------------------------------

@pytest.mark.parametrize("publisher, topic, allowed", [
    (SENSOR, f"sensors/{SENSOR}/pot", True),
    (SENSOR, f"status/{SENSOR}", True),
    (SENSOR, f"sensors/{OTHER_SENSOR}/pot", False),
    (SENSOR, "sensors/made-up-device-1/pot", False),
    (SENSOR, f"sensors/{SENSOR}/pot/extra", False),
    (SENSOR, f"status/{OTHER_SENSOR}", False),
    (SENSOR, "status/webhook", False),
    (SENSOR, "status/listener", False),
    (SENSOR, "alerts/pot-high", False),
    (SENSOR, "alerts/pot-high/ack", False),
    (SENSOR, "alerts/_webhook/webhook/journal", False),
    (INDICATOR, "alerts/pot-high/ack", True),
    (INDICATOR, f"alerts/pot-high/{SENSOR}/ack", True),
    (INDICATOR, f"status/{INDICATOR}", True),
    (INDICATOR, "alerts/pot-high", False),
    (INDICATOR, "alerts/pot-high/annunciator", False),
    (INDICATOR, "alerts/_webhook/webhook/journal", False),
    (INDICATOR, f"sensors/{INDICATOR}/pot", False),
    (INDICATOR, "status/webhook", False),
    ("webhook", "alerts/pot-high", True),
    ("webhook", f"alerts/pot-high/{SENSOR}", True),
    ("webhook", "alerts/_webhook/webhook/journal", True),
    ("webhook", "status/webhook", True),
    ("webhook", "sensors/plc-7/pressure", True),
    ("webhook", "status/listener", False),
    ("listener", "status/listener", True),
    ("listener", f"sensors/{SENSOR}/pot", False),
    ("listener", "alerts/pot-high", False),
    ("listener", "status/webhook", False),
    (REPLICA, f"status/{REPLICA}", True),
    (REPLICA, "status/listener", False),
    ("opcua-bridge", "sensors/tic101/pv", True),
    ("opcua-bridge", "status/opcua-bridge", True),
    ("opcua-bridge", "alerts/pot-high", False),
    ("opcua-bridge", "opcua/opcua-bridge/marker", True),
    ("opcua-bridge", "opcua/opcua-bridge/write/sim/user1", False),
], ids=lambda value: str(value))
def test_who_may_publish_where(broker, publisher, topic, allowed):
    assert delivered(broker, publisher, topic) == allowed


@pytest.mark.parametrize("reader, topic_filter, topic, allowed", [
    ("listener", "sensors/+/+", f"sensors/{SENSOR}/pot", True),
    ("listener", "alerts/_webhook/+/journal", "alerts/_webhook/webhook/journal", True),
    ("listener", "alerts/#", "alerts/pot-high", False),
    (REPLICA, "sensors/+/+", f"sensors/{SENSOR}/pot", True),
    ("webhook", "alerts/#", "alerts/pot-high", True),
    ("webhook", "sensors/+/+", f"sensors/{SENSOR}/pot", False),
    (INDICATOR, "alerts/#", "alerts/pot-high", True),
    (INDICATOR, "status/webhook", "status/webhook", True),
    (INDICATOR, "status/#", f"status/{SENSOR}", False),
    (INDICATOR, "sensors/+/+", f"sensors/{SENSOR}/pot", False),
    (SENSOR, "sensors/+/+", f"sensors/{OTHER_SENSOR}/pot", False),
    (SENSOR, "alerts/#", "alerts/pot-high", False),
    (SENSOR, "status/#", "status/webhook", False),
    ("opcua-bridge", "sensors/+/+", f"sensors/{SENSOR}/pot", False),
    ("opcua-bridge", "opcua/opcua-bridge/write/+/+", "opcua/opcua-bridge/write/sim/user1", True),
    ("opcua-bridge", "opcua/+/write/+/+", "opcua/other-bridge/write/sim/user1", False),
    ("opcua-bridge", "opcua/opcua-bridge/marker", "opcua/opcua-bridge/marker", True),
], ids=lambda value: str(value))
def test_who_may_read_what(broker, reader, topic_filter, topic, allowed):
    assert readable(broker, reader, topic_filter, topic) == allowed


@pytest.mark.parametrize("reader, allowed", [("listener", True), (REPLICA, True),
                                             (SENSOR, False), (INDICATOR, False),
                                             ("webhook", False)])
def test_only_listeners_read_the_brokers_counters(broker, reader, allowed):
    """$SYS/broker/version is retained: a reader allowed to see it has it once the broker
    answered a publish sent after the subscription."""
    with client_for(broker, reader, topics=["$SYS/broker/version"]) as subscriber:
        subscriber.publish(f"marker/{uuid.uuid4().hex}", b"", qos=1)
        if allowed:
            subscriber.wait_for("$SYS/broker/version")
        else:
            assert subscriber.received("$SYS/broker/version") == []


# --- what a stolen board password cannot do (issue 11) ------------------------------------------

@contextlib.contextmanager
def listener_session(broker, received=None, user="listener", topic="sensors/+/+"):
    """A listener's persistent session (clean_session=False), subscribed at QoS 1."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user, clean_session=False)
    client.username_pw_set(user, broker.passwords[user])
    client.disconnects = []
    client.on_disconnect = lambda *args: client.disconnects.append(args)
    subscribed = []
    client.on_subscribe = lambda *args: subscribed.append(True)
    if received is not None:
        client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        wait_until(client.is_connected, 10, message=f"{user} could not connect")
        client.subscribe(topic, qos=1)
        wait_until(lambda: subscribed, 10, message=f"{user} could not subscribe")
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize("thief", STOLEN)
def test_a_board_cannot_wipe_the_listeners_queued_readings(broker, thief):
    with listener_session(broker):
        pass
    with client_for(broker, SENSOR) as sensor:
        for value in range(50):
            sensor.publish(f"sensors/{SENSOR}/pot", str(value).encode(), qos=1)
    # Before use_username_as_clientid, a clean session under the id `listener` wiped its queue.
    with client_for(broker, thief, client_id="listener"):
        pass
    received = []
    with listener_session(broker, received):
        wait_until(lambda: len(received) >= 50, 10, message=f"readings lost: got {received!r}")
    assert received == [str(value).encode() for value in range(50)]


@pytest.mark.parametrize("thief", [*STOLEN, "listener"])
def test_nobody_else_can_claim_the_webhooks_status_or_kick_it(broker, thief):
    with client_for(broker, "webhook", client_id="webhook") as webhook:
        kicked = []
        webhook.client.on_disconnect = lambda *args: kicked.append(args)
        assert not delivered(broker, thief, "status/webhook", client_id="webhook", retain=True)
        webhook.publish("status/webhook", b"online", qos=1)  # a round trip after the thief
        assert kicked == [] and webhook.client.is_connected()
    assert read_retained(broker.host, broker.port, "status/webhook", *OBSERVER) is None


def test_a_will_outside_the_acl_is_refused_or_never_sent(broker):
    """A board that sets its Last Will on status/webhook (`offline` there would show every
    indicator the unknown colour) gets nothing published there when it vanishes."""
    connack(broker, SENSOR, broker.passwords[SENSOR], "webhook", will_topic="status/webhook")
    marker = f"marker/{uuid.uuid4().hex}"
    with client_for(broker, OBSERVER[0], topics=["status/webhook", marker]) as observer:
        observer.publish(marker, b"", qos=1)
        observer.wait_for(marker)
        assert observer.payloads("status/webhook") == []


def send_oversized_publish(broker, user, claimed_bytes, sent_limit):
    """Send a CONNECT, then a QoS 1 PUBLISH that announces `claimed_bytes` of payload, streaming
    zeros until the broker closes the connection. Returns how many bytes it took."""

    def remaining_length(length):
        encoded = bytearray()
        while True:
            length, digit = length // 128, length % 128
            encoded.append(digit | (0x80 if length else 0))
            if not length:
                return bytes(encoded)

    def text(value):
        return struct.pack("!H", len(value)) + value.encode()

    body = (text("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30) + text(user) + text(user)
            + text(broker.passwords[user]))
    topic = text(f"sensors/{user}/pot") + struct.pack("!H", 1)
    sent = 0
    with socket.create_connection((broker.host, broker.port), timeout=10) as sock:
        sock.sendall(b"\x10" + remaining_length(len(body)) + body)
        assert sock.recv(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
        sock.sendall(b"\x32" + remaining_length(len(topic) + claimed_bytes) + topic)
        chunk = bytes(64 * 1024)
        try:
            while sent < sent_limit:
                sock.sendall(chunk)
                sent += len(chunk)
            return sent, sock.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            return sent, True


def test_a_200_mb_publish_is_refused_before_it_is_buffered(broker):
    before = psutil.Process(broker.process.pid).memory_info().rss
    sent, closed = send_oversized_publish(broker, SENSOR, 200 * 2**20, 32 * 2**20)
    assert closed, f"the broker still read after {sent} bytes"
    growth = psutil.Process(broker.process.pid).memory_info().rss - before
    assert growth < 16 * 2**20, f"broker grew by {growth} bytes"
    assert connack(broker, SENSOR, broker.passwords[SENSOR]).is_failure is False


def conf_value(name):
    words = (CONFIG_DIR / "mosquitto.conf").read_text().split()
    return int(words[words.index(name) + 1])


def test_the_packet_limit_fits_the_projects_messages_and_a_small_broker():
    """The largest message the project publishes is the webhook's retained state document, which
    the webhook bounds by its entry cap (WEBHOOK_STATE_MAX_ENTRIES); the limit leaves room for it
    and stays far below what would hurt a broker capped at 64 MB (arm/)."""
    assert 256 * 1024 <= conf_value("max_packet_size") <= 4 * 2**20
    longest = "\U0001F600" * (MAX_DEVICE_CHARS - 5)  # 4 bytes of UTF-8 a character
    alerts = [f"a{i:05d}" + "x" * (MAX_ALERT_CHARS - 6) for i in range(MAX_ENTRIES_ALLOWED)]
    devices = [f"{i:05d}" + longest for i in range(MAX_ENTRIES_ALLOWED)]
    store = AlertStore(Limits(MAX_ENTRIES_ALLOWED, 1e9))
    store.apply(Notification("unified", updates=[
        InstanceUpdate(alert, device, True, device)
        for alert, device in zip(alerts, devices)]), now=1.0)
    assert store.entries() == MAX_ENTRIES_ALLOWED
    for alert, device in zip(alerts, devices):
        store.annunciator.update(alert, {device: True, None: False})
    store.journal = [journal.Entry(2**41, alerts[0], devices[0], "cleared-unacked", "unacked",
                                   devices[0])] * JOURNAL_LIMIT
    assert len(store.document_bytes()) < conf_value("max_packet_size")


def test_the_limits_docs_boards_md_states_are_the_configs():
    doc = " ".join((ROOT / "docs" / "boards.md").read_text().split())
    assert f"{conf_value('max_packet_size') // 2**20} MiB (`max_packet_size`)" in doc
    assert f"{conf_value('max_queued_messages'):,} messages" in doc
    assert f"{conf_value('max_queued_bytes') // 10**6} MB are queued" in doc


def test_one_credential_is_one_connection(broker):
    """A second connection with a board's password replaces the first (same client id): a stolen
    password cannot open hundreds of connections."""
    with client_for(broker, SENSOR, client_id="first") as first:
        gone = []
        first.client.on_disconnect = lambda *args: gone.append(args)
        first.client.reconnect_delay_set(60, 60)
        with client_for(broker, SENSOR, client_id="second"):
            wait_until(lambda: gone, 10, message="the first connection was not replaced")


# --- scale-out: listener replicas with their own identities -------------------------------------

def test_listener_replicas_share_the_stream_with_their_own_identities(broker):
    shared = "$share/listeners/sensors/+/+"
    first, second = [], []
    with listener_session(broker, first, "listener", shared) as one, \
            listener_session(broker, second, REPLICA, shared) as two:
        with client_for(broker, SENSOR) as sensor:
            for value in range(40):
                sensor.publish(f"sensors/{SENSOR}/pot", str(value).encode(), qos=1)
        wait_until(lambda: len(first) + len(second) >= 40, 10,
                   message=f"readings lost: {len(first)} + {len(second)}")
        assert sorted(first + second, key=int) == [str(v).encode() for v in range(40)]
        assert first and second  # both replicas took part
        assert one.disconnects == [] and two.disconnects == []


# --- make device / make device-remove on the running broker -------------------------------------

def reload_users(broker):
    """What `docker compose restart mosquitto` does: assemble the files again, restart."""
    assemble_auth(broker.config_dir, broker.auth_dir)
    broker.restart()


def test_a_registered_board_works_and_a_removed_one_is_refused(broker):
    password = broker.registry.add("esp32-c3d4e5", "sensor")
    broker.passwords["esp32-c3d4e5"] = password
    reload_users(broker)
    assert delivered(broker, "esp32-c3d4e5", "sensors/esp32-c3d4e5/pot")
    assert delivered(broker, SENSOR, f"sensors/{SENSOR}/pot")
    assert broker.registry.remove("esp32-c3d4e5")
    reload_users(broker)
    assert connack(broker, "esp32-c3d4e5", password).is_failure
    assert delivered(broker, SENSOR, f"sensors/{SENSOR}/pot")  # the others are untouched


# --- what survives a restart; the compose healthcheck -------------------------------------------

def test_alert_state_and_queued_readings_survive_a_restart(broker):
    """Retained alert states and QoS 0 readings queued for the listener's persistent session
    are still there after the broker restarts (persistence, queue_qos0_messages)."""
    with listener_session(broker):
        pass
    with client_for(broker, SENSOR) as sensor, client_for(broker, "webhook") as webhook:
        for value in (b"10", b"20", b"30"):
            sensor.publish(f"sensors/{SENSOR}/pot", value, qos=0)
        # The broker reads a connection in order: once this QoS 1 reading is acknowledged, the
        # QoS 0 ones before it are queued too.
        sensor.publish(f"sensors/{SENSOR}/pot", b"40", qos=1)
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


def test_without_boards_the_broker_acl_is_the_shipped_one(tmp_path):
    config_dir, auth_dir = tmp_path / "config", tmp_path / "auth"
    config_dir.mkdir()
    shutil.copy(CONFIG_DIR / "acl", config_dir / "acl")
    (config_dir / "passwd").write_text("listener:$7$101$x$y\n")
    assemble_auth(config_dir, auth_dir)
    assert (auth_dir / "acl").read_text() == (CONFIG_DIR / "acl").read_text()
    assert (auth_dir / "passwd").read_text() == "listener:$7$101$x$y\n"
