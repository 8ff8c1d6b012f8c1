"""listener.paced_reads: paho reading its socket ahead in chunks and pacing its wakes, on real
sockets and against a real mosquitto, plain and TLS."""

import datetime
import ipaddress
import random
import select
import socket
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from devstack.wait import wait_until
from listener import paced_reads
from listener.paced_reads import CHUNK, PacedReadClient, ReadBuffer, paced_read_client
from service_common.mqtt import MqttSettings


class CountingSocket:
    def __init__(self, sock):
        self.sock, self.recvs = sock, 0

    def recv(self, size):
        self.recvs += 1
        return self.sock.recv(size)

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.fixture
def sockets():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def readable(sock):
    assert select.select([sock], [], [], 10)[0], "nothing arrived"


def test_small_reads_are_served_from_one_recv_until_the_socket_is_empty(sockets):
    ours, theirs = sockets
    counting = CountingSocket(ours)
    buffer = ReadBuffer(counting)
    theirs.sendall(b"abcdefgh")
    readable(ours)
    assert [buffer.recv(1), buffer.recv(3)] == [b"a", b"bcd"]
    assert buffer.buffered() == buffer.pending() == 4
    assert buffer.recv(10) == b"efgh"  # what is left, without waiting for more
    assert counting.recvs == 1
    with pytest.raises(BlockingIOError):
        buffer.recv(1)
    assert counting.recvs == 2
    assert buffer.fileno() == ours.fileno()


def test_a_stream_read_in_any_sizes_comes_out_whole_and_in_order(sockets):
    ours, theirs = sockets
    data = random.Random(7).randbytes(5 * CHUNK + 123)
    sender = threading.Thread(target=theirs.sendall, args=(data,))
    sender.start()
    buffer, got, sizes = ReadBuffer(ours), bytearray(), random.Random(8)
    while len(got) < len(data):
        try:
            got += buffer.recv(sizes.choice([1, 2, 100, CHUNK - 1, CHUNK + 1, 3 * CHUNK]))
        except BlockingIOError:
            readable(ours)
    sender.join()
    assert bytes(got) == data


def test_a_closed_peer_reads_as_the_socket_says(sockets):
    ours, theirs = sockets
    theirs.sendall(b"xy")
    theirs.close()
    readable(ours)
    buffer = ReadBuffer(ours)
    assert buffer.recv(1) == b"x"
    assert buffer.recv(1) == b"y"
    assert buffer.recv(1) == b""


def publish_packet(topic, payload, qos=0, mid=1):
    variable = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body = variable + payload
    assert len(body) < 128
    return bytes([0x30 | qos << 1, len(body)]) + body


class FakeTime:
    def __init__(self, now):
        self.now, self.slept = now, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def offline_client(sockets, monkeypatch):
    """A PacedReadClient reading `sockets`' first end, on a fake clock; (client, peer, clock,
    received payloads)."""
    ours, theirs = sockets
    clock = FakeTime(100.0)
    monkeypatch.setattr(paced_reads, "time", clock)
    client = PacedReadClient(mqtt.CallbackAPIVersion.VERSION2, client_id="paced")
    received = []
    client.on_message = lambda client, userdata, message: received.append(message.payload)
    client._sock = ReadBuffer(CountingSocket(ours))
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    return client, theirs, clock, received


def send_readings(peer, sock, count):
    peer.sendall(b"".join(publish_packet(b"sensors/d/pot", b"%d" % i) for i in range(count)))
    readable(sock)


def test_the_packets_one_recv_holds_are_handled_in_one_loop_read(offline_client, sockets):
    client, peer, clock, received = offline_client
    send_readings(peer, sockets[0], 50)
    assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
    assert received == [b"%d" % i for i in range(50)]
    assert client._sock._sock.recvs == 2  # all 50, then the read that finds the socket empty
    assert clock.slept == []


def start_stream(client, peer, sock, clock, per_second):
    """Packets at `per_second` over one RATE_WINDOW, read as they come; the window then ends."""
    client.loop_read()  # opens the first window
    send_readings(peer, sock, int(per_second * paced_reads.RATE_WINDOW))
    client.loop_read()
    clock.now += paced_reads.RATE_WINDOW * 1.01


def test_a_stream_is_read_every_pace_without_a_select_until_it_ends(offline_client, sockets):
    client, peer, clock, received = offline_client
    pace = paced_reads.READ_PACE
    start_stream(client, peer, sockets[0], clock, paced_reads.STREAM_RATE * 1.1)
    assert clock.slept == []
    send_readings(peer, sockets[0], 3)
    client.loop_read()  # the window counted a stream: from now on reads are paced
    assert client._sock.streaming and client._sock.pending() > 0  # paho skips its select
    send_readings(peer, sockets[0], 2)
    client.loop_read()
    assert clock.slept == [pace]  # READ_PACE after the read before found the socket empty
    while client._sock.streaming:  # nothing comes any more
        client.loop_read()
    assert client._sock.pending() == 0
    assert len(clock.slept) <= 2 + paced_reads.RATE_WINDOW / pace
    assert len(received) == int(paced_reads.STREAM_RATE * 1.1 * paced_reads.RATE_WINDOW) + 5


@pytest.mark.parametrize("case", ["slower than a stream", "pace off", "bytes already buffered"])
def test_no_wait_below_the_stream_rate_when_pacing_is_off_or_bytes_are_buffered(
        offline_client, sockets, case):
    client, peer, clock, received = offline_client
    if case == "pace off":
        client.read_pace = 0
    rate = paced_reads.STREAM_RATE * (0.9 if case == "slower than a stream" else 1.1)
    start_stream(client, peer, sockets[0], clock, rate)
    send_readings(peer, sockets[0], 2)
    if case == "bytes already buffered":
        client.loop_read()  # the stream starts; the next read comes READ_PACE later
        send_readings(peer, sockets[0], 2)
        assert client._sock.recv(1) == publish_packet(b"sensors/d/pot", b"0")[:1]
        client._in_packet["command"] = 0x30
    client.loop_read()
    assert clock.slept == []
    assert client._sock.streaming == (case == "bytes already buffered")


# --- against a real mosquitto --------------------------------------------------------------------

def make_certificates(folder):
    """A CA and a server certificate for 127.0.0.1; (ca, cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def certificate(subject, public_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(name(subject))
                   .issuer_name(name("test CA")).public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(ca_key, hashes.SHA256())

    ca = certificate("test CA", ca_key.public_key(),
                     [(x509.BasicConstraints(ca=True, path_length=None), True)])
    server = certificate("127.0.0.1", key.public_key(), [
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
         False)])
    paths = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture(params=["tcp", "tls"])
def broker(request, mosquitto_factory, tmp_path):
    """(broker, CA file or None)."""
    if request.param == "tcp":
        return mosquitto_factory(), None
    ca, cert, key = make_certificates(tmp_path)
    return mosquitto_factory(config=f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"), str(ca)


def connected(client, broker):
    client.connect(broker.host, broker.port, 30)
    client.loop_start()
    wait_until(client.is_connected, 10, message="could not connect")
    return client


@pytest.mark.integration
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_every_message_arrives_whole_and_in_order(broker, qos):
    broker, ca = broker
    settings = MqttSettings(host=broker.host, port=broker.port, tls_ca=ca,
                            client_id=f"paced-{uuid.uuid4().hex[:6]}")
    subscriber = paced_read_client(settings)
    received, subscribed = [], threading.Event()
    subscriber.on_message = lambda client, userdata, message: received.append(message.payload)
    subscriber.on_subscribe = lambda *args: subscribed.set()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="publisher")
    if ca:
        publisher.tls_set(ca_certs=ca)
    payloads = [random.Random(i).randbytes(i * 97 % 3000) for i in range(600)]
    payloads[300] = random.Random(0).randbytes(3 * CHUNK + 5)  # larger than a chunk
    try:
        connected(subscriber, broker).subscribe("sensors/#", qos)
        assert type(subscriber._sock) is ReadBuffer  # paho still makes its socket where we wrap
        wait_until(subscribed.is_set, 10, message="could not subscribe")
        connected(publisher, broker)
        for payload in payloads:
            info = publisher.publish("sensors/d/blob", payload, qos=qos)
        info.wait_for_publish(30)
        wait_until(lambda: len(received) >= len(payloads), 60,
                   message="not every message arrived")
        assert received == payloads
    finally:
        for client in (subscriber, publisher):
            client.disconnect()
            client.loop_stop()


def test_the_listener_reads_with_a_paced_read_client(tmp_path):
    from listener.app import Listener
    from listener.config import read_settings

    settings = read_settings({"MQTT_HOST": "127.0.0.1", "INFLUXDB_URL": "memory:",
                              "LISTENER_SPOOL_DIR": str(tmp_path),
                              "LISTENER_BROKER_STATS": "false"})
    assert type(Listener(settings).client) is PacedReadClient
