"""The webhook's one MQTT connection: publish a batch and wait for every PUBACK, read a few
retained topics once, say `online` when told to and `offline` on the way out (or by its Will).

`AlertPublisher` takes it (or a stand-in with the same methods) from outside.
"""

import logging
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from service_common import mqtt as common_mqtt
from webhook import tcp
from webhook.topics import sync_topic

log = logging.getLogger(__name__)

# Seconds a retained read waits for its sync marker before it logs an error and starts again.
RESTORE_DEADLINE = 30.0


class BrokerUnavailable(Exception):
    """The broker is unreachable or did not acknowledge in time (answered 503)."""


class MqttLink:
    def __init__(self, settings):
        self.settings = settings
        self._sync_topic = sync_topic(settings.alerts_root, settings.client_id)
        self._on_connected = None
        self._reading = None  # the RetainedRead in progress
        self._reading_lock = threading.Lock()
        self._handlers = {}  # topic filter -> handler(topic, payload, retain), kept subscribed
        self._closing = False
        self.client = common_mqtt.make_client(settings, clean_session=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    def start(self, on_connected):
        """Connect in the background; `on_connected()` runs in the network thread at every
        connect and must not block."""
        self._on_connected = on_connected
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive)
        self.client.loop_start()

    def close(self, timeout=2.0):
        """Say `offline` (a clean disconnect does not fire the Will), disconnect, stop."""
        self._closing = True
        with self._reading_lock:
            self._drop_reading()
        if self.client.is_connected():
            common_mqtt.publish_offline(self.client, self.settings, timeout)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self):
        return self.client.is_connected()

    def publish_online(self):
        common_mqtt.publish_online(self.client, self.settings)

    def publish_and_wait(self, messages, timeout, retain):
        """Publish [(topic, payload)] at QoS 1 and wait up to `timeout` s for every PUBACK.

        Returns the topics the broker did not acknowledge (paho may still deliver them after a
        reconnect); raises BrokerUnavailable when not connected at all.
        """
        if not messages:
            return []
        if not self.client.is_connected():
            raise BrokerUnavailable("not connected to the MQTT broker")
        sent = [(topic, self.client.publish(topic, payload, qos=1, retain=retain))
                for topic, payload in messages]
        deadline = time.monotonic() + timeout
        return [topic for topic, info in sent
                if not _acknowledged(info, deadline - time.monotonic())]

    def subscribe(self, topic_filter, handler):
        """Keep `topic_filter` subscribed (QoS 1, again at every connect) and call
        `handler(topic, payload, retain)` in the network thread for each message on it; the
        handler must not block. Call before start()."""
        self._handlers[topic_filter] = handler

    def unsubscribe(self, topic_filters):
        """Stop receiving `topic_filters` until resubscribe() or the next connect."""
        self.client.unsubscribe(list(topic_filters))

    def resubscribe(self, topic_filters):
        if self.client.is_connected():
            self.client.subscribe([(topic_filter, 1) for topic_filter in topic_filters])

    def read_retained(self, topics, done):
        """Read the retained messages of `topics` (no wildcards) once, then call
        `done({topic: payload})` in the network thread (an empty dict when the broker refuses
        the subscription).

        Subscribes to `topics` and to the link's own sync topic, then publishes a marker there:
        the broker sends retained messages before anything published after its SUBACK, so the
        marker coming back means every retained message has arrived. Few topics keep that within
        the broker's queue limit, which would otherwise drop the marker. Without the marker
        back within RESTORE_DEADLINE s, logs an error and reads again.
        """
        reading = _RetainedRead(list(topics), uuid.uuid4().hex.encode(), done)
        reading.timer = threading.Timer(RESTORE_DEADLINE, self._read_expired, [reading])
        reading.timer.daemon = True
        with self._reading_lock:  # never held while calling paho: its callbacks take it
            self._drop_reading()
            self._reading = reading
        reading.timer.start()
        filters = [(topic, 1) for topic in [*reading.topics, self._sync_topic]]
        _, reading.mid = self.client.subscribe(filters)

    def _read_expired(self, reading):
        with self._reading_lock:
            if self._reading is not reading:
                return
        log.error("the marker published on %s did not come back within %g s: the broker's ACL "
                  "must let this client publish and subscribe to it (a denied publish is "
                  "dropped silently); the alert state is not restored, reading again",
                  self._sync_topic, RESTORE_DEADLINE)
        self.read_retained(reading.topics, reading.done)

    def _drop_reading(self):
        """Forget the read in progress (call with _reading_lock held); returns it."""
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.timer.cancel()
        return reading

    # --- paho callbacks (network thread: never block, never raise) ----------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connection to %s:%s refused: %s",
                        self.settings.host, self.settings.port, reason_code)
            return
        log.info("connected to MQTT broker %s:%s", self.settings.host, self.settings.port)
        tcp.no_delay(client.socket())
        with self._reading_lock:
            self._drop_reading()  # a read cut short by a disconnect starts again
        if self._handlers:
            client.subscribe([(topic_filter, 1) for topic_filter in self._handlers])
        if self._on_connected:
            self._on_connected()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._closing:
            log.warning("disconnected from MQTT broker: %s (reconnecting)", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        tcp.quick_ack(client.socket())

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        reading = self._reading
        if reading is None or mid != reading.mid:
            return
        if any(code.is_failure for code in reason_codes):
            log.error("broker refused the subscription to %s: the alert state cannot be "
                      "restored and starts empty", ", ".join(reading.topics))
            reading.retained.clear()
            self._finish(reading)
            return
        client.publish(self._sync_topic, reading.marker, qos=1)

    def _on_message(self, client, userdata, message):
        for topic_filter, handler in self._handlers.items():
            if mqtt.topic_matches_sub(topic_filter, message.topic):
                try:
                    handler(message.topic, message.payload, bool(message.retain))
                except Exception:  # noqa: BLE001 - a callback must never raise
                    log.exception("handler of %s failed on %s", topic_filter, message.topic)
        reading = self._reading
        if reading is None:
            return
        if message.topic == self._sync_topic:
            if message.payload == reading.marker:
                self._finish(reading)
        elif message.retain and message.topic in reading.topics:
            reading.retained[message.topic] = message.payload

    def _finish(self, reading):
        with self._reading_lock:
            if self._reading is not reading:
                return
            self._drop_reading()
        self.client.unsubscribe([*reading.topics, self._sync_topic])
        try:
            reading.done(reading.retained)
        except Exception:  # noqa: BLE001 - a callback must never raise
            log.exception("could not handle the retained messages")


class _RetainedRead:
    def __init__(self, topics, marker, done):
        self.topics, self.marker, self.done = topics, marker, done
        self.mid = None
        self.timer = None
        self.retained = {}


def _acknowledged(info, remaining):
    try:
        info.wait_for_publish(max(remaining, 0.0))
        return info.is_published()
    except (RuntimeError, ValueError):
        return False


