"""A paho client for tests and the demo: records what it receives, publishes and waits for acks."""

import threading
import uuid

import paho.mqtt.client as mqtt

from devstack.wait import wait_until


class Probe:
    """Subscribes to `topics` on every connect and records (topic, payload, retain) tuples."""

    def __init__(self, host, port, topics=(), username=None, password=None, client_id=None,
                 qos=1):
        self.topics = list(topics)
        self.qos = qos
        self.messages = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)
        self.host, self.port = host, port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=10):
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        wait_until(self.client.is_connected, timeout, message="probe could not connect")
        if self.topics:
            wait_until(self._subscribed.is_set, timeout, message="probe could not subscribe")
        return self

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure and self.topics:
            client.subscribe([(t, self.qos) for t in self.topics])

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def received(self, topic=None):
        with self._lock:
            return [m for m in self.messages if topic is None or m[0] == topic]

    def payloads(self, topic):
        return [payload for _, payload, _ in self.received(topic)]

    def last(self, topic):
        found = self.payloads(topic)
        return found[-1] if found else None

    def wait_for(self, topic, payload=None, timeout=10):
        """Wait until `topic` has received `payload` (bytes or str), or anything if None."""
        if isinstance(payload, str):
            payload = payload.encode()
        return wait_until(
            lambda: any(payload is None or p == payload for p in self.payloads(topic)),
            timeout, message=f"no {payload!r} on {topic}; got {self.payloads(topic)!r}")

    def publish(self, topic, payload, qos=1, retain=False, timeout=10):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        return info


def read_retained(host, port, topic, username=None, password=None, timeout=5):
    """What a fresh subscriber receives as retained on `topic` (None when nothing is retained).

    A marker published after subscribing arrives after the retained messages, so absence
    is known without waiting for a timeout.
    """
    marker = f"probe-marker/{uuid.uuid4().hex}"
    with Probe(host, port, [topic, marker], username, password) as probe:
        probe.publish(marker, b"", qos=1)
        probe.wait_for(marker, timeout=timeout)
        return probe.last(topic)
