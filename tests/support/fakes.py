"""An in-memory stand-in for the webhook's MQTT link: the seam that lets the routes, auth, HMAC
and the publisher's state logic run without a broker."""

import paho.mqtt.client as mqtt

from webhook.mqtt_link import BrokerUnavailable


class FakeLink:
    """Acknowledges every publish at once and keeps what a broker would retain.

    `connected = False` makes it refuse like a lost broker; `acknowledge = False` makes every
    publish go unacknowledged, like a frozen one.
    """

    def __init__(self, retained=None):
        self.retained = dict(retained or {})  # topic -> payload bytes
        self.published = []  # (topic, payload bytes, retain) in order, acknowledged or not
        self.connected = False
        self.acknowledge = True
        self.online = False
        self.reads = []  # the topic lists read_retained was asked for
        self.handlers = {}  # topic filter -> handler, as subscribe() keeps them
        self.paused = set()  # filters unsubscribed: deliver() skips them
        self._on_connected = None

    def start(self, on_connected):
        self._on_connected = on_connected
        self.reconnect()

    def reconnect(self):
        self.connected, self.online = True, False
        self._on_connected()

    def close(self, timeout=2.0):
        self.connected = False

    def publish_online(self):
        self.online = True

    def subscribe(self, topic_filter, handler):
        self.handlers[topic_filter] = handler

    def unsubscribe(self, topic_filters):
        self.paused.update(topic_filters)

    def resubscribe(self, topic_filters):
        self.paused.difference_update(topic_filters)

    def deliver(self, topic, payload, retain=False):
        """A message from the broker to every handler whose filter matches `topic`."""
        for topic_filter, handler in self.handlers.items():
            if topic_filter not in self.paused and mqtt.topic_matches_sub(topic_filter, topic):
                handler(topic, payload, retain)

    def read_retained(self, topics, done):
        self.reads.append(list(topics))
        done({t: self.retained[t] for t in topics if t in self.retained})

    def publish_and_wait(self, messages, timeout, retain):
        if not self.connected:
            raise BrokerUnavailable("not connected to the MQTT broker")
        for topic, payload in messages:
            payload = payload if isinstance(payload, bytes) else str(payload).encode()
            self.published.append((topic, payload, retain))
            if retain and self.acknowledge:
                self.retained[topic] = payload
        return [] if self.acknowledge else [topic for topic, _ in messages]

    def payloads(self, topic):
        return [p for t, p, _ in self.published if t == topic]
