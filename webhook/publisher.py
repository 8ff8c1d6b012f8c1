"""The webhook's one MQTT connection: restores the alert state from the broker's retained
messages, then publishes state changes retained at QoS 1 and waits for the broker's PUBACK.

Attach it with `init_app(app)`; the routes reach it through `get_publisher()`.
"""

import logging
import socket
import threading
import time
import uuid
from collections import Counter

from flask import current_app

from service_common import mqtt as common_mqtt
from webhook.state import AlertStore, changed, parse_alert_topic

log = logging.getLogger(__name__)

EXTENSION = "alert_publisher"


class BrokerUnavailable(Exception):
    """The broker is unreachable or did not acknowledge in time (answered 503)."""


def init_app(app):
    publisher = AlertPublisher(app.config["WEBHOOK"])
    app.extensions[EXTENSION] = publisher
    publisher.start()
    return publisher


def get_publisher():
    return current_app.extensions[EXTENSION]


class AlertPublisher:
    def __init__(self, config):
        self.config = config
        self.settings = config.mqtt
        self.root = self.settings.alerts_root
        self.state_topic = f"{self.root}/_webhook/{self.settings.client_id}/state"
        self._sync_topic = f"{self.root}/_webhook/{self.settings.client_id}/sync"
        self.counts = Counter()
        self._counts_lock = threading.Lock()
        self.store = AlertStore()
        self._published = {}  # topic -> value the broker acknowledged (str or bytes)
        self._dirty = set()  # alerts whose topics may differ from what the broker holds
        self._lock = threading.Lock()
        self._restored = threading.Event()
        self._retained = {}
        self._marker = None
        self._subscribe_mid = None
        self._closing = False
        self.client = common_mqtt.make_client(self.settings, clean_session=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    # --- lifecycle -------------------------------------------------------------------------

    def start(self):
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive)
        self.client.loop_start()

    def close(self, timeout=2.0):
        """Say `offline` (a clean disconnect does not fire the Will), disconnect, stop."""
        self._closing = True
        if self.client.is_connected():
            common_mqtt.publish_offline(self.client, self.settings, timeout)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self):
        return self.client.is_connected()

    @property
    def restored(self):
        return self._restored.is_set()

    @property
    def ready(self):
        return self.connected and self._restored.is_set()

    def count(self, name, amount=1):
        with self._counts_lock:
            self.counts[name] += amount

    def counts_snapshot(self):
        with self._counts_lock:
            return dict(self.counts)

    # --- requests --------------------------------------------------------------------------

    def apply(self, notification, timeout=None):
        """Apply a Notification and publish what changed; returns {topic: value} published.

        Raises BrokerUnavailable when the publishes were not all acknowledged within `timeout`;
        the topics concerned are then republished by the next request or sync.
        """
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            if not self.ready:
                raise BrokerUnavailable("not connected to the MQTT broker"
                                        if not self.connected else "state not restored yet")
            self._dirty |= self.store.apply(notification)
            return self._publish_dirty(timeout)

    def sync(self, timeout=None):
        """Publish whatever the broker may be missing (after a restore or a failed request)."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        with self._lock:
            if self.ready and self._dirty:
                try:
                    self._publish_dirty(timeout)
                except BrokerUnavailable as error:
                    log.warning("could not republish the alert state: %s", error)

    def _publish_dirty(self, timeout):
        changes = changed(self.store.topic_values(self._dirty, self.root), self._published)
        document = self.store.document_bytes()
        if self._published.get(self.state_topic) != document:
            # The document goes first: after a crash between the two, the restore finds the
            # new document and republishes the topics that lag behind it.
            changes = {self.state_topic: document, **changes}
        self._publish_and_wait(changes, timeout)
        self._dirty.clear()
        return {t: v for t, v in changes.items() if t != self.state_topic}

    def _publish_and_wait(self, changes, timeout):
        if not changes:
            return
        if not self.client.is_connected():
            raise BrokerUnavailable("not connected to the MQTT broker")
        sent = [(topic, value, self.client.publish(topic, value, qos=1, retain=True))
                for topic, value in changes.items()]
        deadline = time.monotonic() + timeout
        missing = []
        for topic, value, info in sent:
            if _acknowledged(info, deadline - time.monotonic()):
                self._published[topic] = value
            else:
                # paho may still deliver it after a reconnect: the broker's value is unknown.
                self._published.pop(topic, None)
                missing.append(topic)
        self.count("published", len(sent) - len(missing))
        if missing:
            self.count("publish_unacknowledged", len(missing))
            raise BrokerUnavailable(
                f"the broker did not acknowledge {len(missing)} of {len(sent)} publishes "
                f"within {timeout:g} s")

    def publish_messages(self, messages, timeout=None):
        """Publish `(topic, payload_bytes)` pairs at QoS 1, not retained; return once the broker
        acknowledged every one, else raise BrokerUnavailable (some may still arrive later)."""
        timeout = self.config.publish_timeout if timeout is None else timeout
        if not self.client.is_connected():
            raise BrokerUnavailable("not connected to the MQTT broker")
        sent = [self.client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + timeout
        acknowledged = sum(_acknowledged(info, deadline - time.monotonic()) for info in sent)
        if acknowledged < len(sent):
            raise BrokerUnavailable(f"the broker acknowledged {acknowledged} of {len(sent)} "
                                    f"publishes within {timeout:g} s")

    # --- MQTT callbacks (network thread: never block, never raise) ---------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connection to %s:%s refused: %s",
                        self.settings.host, self.settings.port, reason_code)
            return
        log.info("connected to MQTT broker %s:%s", self.settings.host, self.settings.port)
        _no_delay(client)
        common_mqtt.publish_online(client, self.settings)
        if not self._restored.is_set():
            self._retained = {}
            self._marker = uuid.uuid4().hex.encode()
            _, self._subscribe_mid = client.subscribe(f"{self.root}/#", qos=1)
        else:
            threading.Thread(target=self._resync, name="webhook-sync", daemon=True).start()

    def _resync(self):
        """After a reconnect: the broker may have restarted without the latest retained values
        (a crash before its autosave), so every topic is published again."""
        with self._lock:
            self._published = {}
            self._dirty |= self.store.known_alerts()
        self.sync()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        _quick_ack(client)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._closing:
            log.warning("disconnected from MQTT broker: %s (reconnecting)", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if mid != self._subscribe_mid:
            return
        if any(code.is_failure for code in reason_codes):
            log.error("broker refused the subscription to %s/#: the alert state cannot be "
                      "restored and starts empty", self.root)
            self._finish_restore(client)
            return
        # Retained messages arrive before anything published after the SUBACK, so our own
        # marker coming back means every retained message has been seen.
        client.publish(self._sync_topic, self._marker, qos=1)

    def _on_message(self, client, userdata, message):
        if self._restored.is_set():
            return
        if message.topic == self._sync_topic and message.payload == self._marker:
            self._finish_restore(client)
        elif message.retain:
            self._retained[message.topic] = message.payload

    def _finish_restore(self, client):
        client.unsubscribe(f"{self.root}/#")
        try:
            self._restore(self._retained)
        except Exception:  # noqa: BLE001 - a callback must never raise; start empty instead
            log.exception("could not restore the alert state; starting empty")
        self._restored.set()
        if self._dirty:
            threading.Thread(target=self.sync, name="webhook-sync", daemon=True).start()

    def _restore(self, retained):
        with self._lock:
            store, published = AlertStore(), {}
            raw_document = retained.get(self.state_topic)
            if raw_document is not None:
                try:
                    store = AlertStore.from_document(raw_document)
                    published[self.state_topic] = raw_document
                except ValueError as error:
                    log.warning("ignoring the retained state document: %s", error)
            for topic, payload in retained.items():
                parsed = parse_alert_topic(topic, self.root)
                if parsed is None or payload not in (b"0", b"1"):
                    continue
                alert, device = parsed
                published[topic] = payload.decode()
                store.firing.setdefault(alert, {})
                if device is not None:
                    store.devices.setdefault(alert, set()).add(device)
            self.store, self._published = store, published
            if raw_document is None:
                stale = [t for t, v in published.items() if v == "1"]
                if stale:
                    log.warning("no state document: %d retained alert topics say 1 until the "
                                "next notification for them", len(stale))
                self._dirty = set()
            else:
                desired = store.topic_values(store.known_alerts(), self.root)
                self._dirty = {parse_alert_topic(t, self.root)[0]
                               for t in changed(desired, published)}
            # Known alerts without any state yet get their `0`, so indicators show "no alert"
            # instead of "unknown" until Grafana first notifies.
            for alert in self.config.known_alerts:
                if f"{self.root}/{alert}" not in published:
                    store.firing.setdefault(alert, {})
                    self._dirty.add(alert)
            firing = sum(len(i) for i in store.firing.values())
            log.info("alert state restored: %d alerts, %d firing instances",
                     len(store.known_alerts()), firing)


def _acknowledged(info, remaining):
    try:
        info.wait_for_publish(max(remaining, 0.0))
        return info.is_published()
    except (RuntimeError, ValueError):
        return False


def _quick_ack(client):
    """Send the TCP ACK for the PUBACK just read now, not up to 40 ms later.

    A broker without `set_tcp_nodelay true` holds each further PUBACK until the previous one
    is ACKed (Nagle), and Linux delays that ACK; switching quick-ack on sends a pending ACK at
    once. The kernel leaves quick-ack mode again by itself, hence once per PUBACK.
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    sock = client.socket()
    if option is None or sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)
    except (OSError, AttributeError) as error:
        log.debug("could not set TCP_QUICKACK: %s", error)


def _no_delay(client):
    """Small QoS 1 packets must not wait for Nagle's algorithm (40 ms with delayed ACKs)."""
    try:
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as error:
        log.debug("could not set TCP_NODELAY: %s", error)
