"""The listener's own work per reading, with the machine taken out.

    python -m bench.listener_own_work [--messages 50000] [--runs 5] [--qos 0 1]

paho's reading loop is fed PUBLISH packets from memory (no socket, no broker, no other process),
once with the bare subscriber's callback (json-parse) and once with a listener's (a real
`listener.app.Listener` with the `memory:` store and its writer thread). The figure is process CPU
per reading, the best of `--runs`: paho's own cost plus the callback's, warm. What the listener
adds here is its own code; `bench.listener_ingest` gives what the same code costs on a busy
machine, where each reading arrives alone and finds the caches cold.
"""

import argparse
import io
import json
import sys
import tempfile
import time

from bench.listener_ingest import DEVICES, TOPIC, machine, payload


def packets(messages, qos):
    """The PUBLISH packets of `messages` readings, as a broker sends them (each under 128 bytes)."""
    out = bytearray()
    base_ms = int(time.time() * 1000) - messages - 60_000
    for i in range(messages):
        topic = TOPIC.format(i % DEVICES).encode()
        body = payload(i, base_ms).encode()
        mid = (i % 65535 + 1).to_bytes(2, "big") if qos else b""
        variable = len(topic).to_bytes(2, "big") + topic + mid + body
        out += bytes([0x30 | qos << 1, len(variable)]) + variable
    return bytes(out)


class MemorySocket:
    """What paho's reading loop asks of a socket, reading from bytes."""

    def __init__(self, data):
        self.data, self.reader = len(data), io.BytesIO(data)

    def recv(self, size):
        chunk = self.reader.read(size)
        if not chunk:
            raise BlockingIOError
        return chunk

    def send(self, data):
        return len(data)

    def done(self):
        return self.reader.tell() >= self.data

    def close(self):
        pass

    def setblocking(self, flag):
        pass


def cpu_per_message(client, data, messages):
    import paho.mqtt.client as mqtt

    client._sock = MemorySocket(data)
    client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    started = time.process_time()
    while not client._sock.done():
        client.loop_read()
    return (time.process_time() - started) / messages * 1e6


def bare_client():
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.on_message = lambda client, userdata, message: json.loads(message.payload)
    return client


def listener(qos, spool_dir):
    from listener.app import Listener
    from listener.config import read_settings

    settings = read_settings({
        "MQTT_HOST": "127.0.0.1", "INFLUXDB_URL": "memory:", "LISTENER_QOS": str(qos),
        "LISTENER_SPOOL_DIR": spool_dir, "LISTENER_BROKER_STATS": "false",
        "LISTENER_DOWNSAMPLE_INTERVAL": ""})
    consumer = Listener(settings)
    consumer.spool.open()
    consumer.writer.start()
    return consumer


def main(argv=()):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--qos", type=int, nargs="+", default=[0, 1], choices=[0, 1])
    args = parser.parse_args(list(argv))
    print(f"listener own work: {args.messages} JSON readings fed to paho from memory, best of "
          f"{args.runs} runs\nmachine: {machine()}")
    for qos in args.qos:
        data = packets(args.messages, qos)
        bare, own = [], []
        for _ in range(args.runs):
            bare.append(cpu_per_message(bare_client(), data, args.messages))
            with tempfile.TemporaryDirectory(prefix="bench-own-work-") as spool:
                consumer = listener(qos, spool)
                try:
                    own.append(cpu_per_message(consumer.client, data, args.messages))
                finally:
                    consumer.writer.stop()
        print(f"  QoS {qos}: bare paho {min(bare):5.2f} µs/message, listener {min(own):5.2f} "
              f"µs/message: the listener's own work {min(own) - min(bare):4.2f} µs "
              f"(ratio {min(own) / min(bare):.2f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
