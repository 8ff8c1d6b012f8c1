"""Wiring: the paho client, its thin callbacks, the batcher and the writer thread."""

import logging
import time

from listener import journal
from listener.batcher import Batcher
from listener.influx import Influx
from listener.line_protocol import Encoder
from listener.parse import Parser, Rejection
from listener.spool import Spool
from listener.stats import Stats
from listener.writer import Writer
from service_common.mqtt import make_client, publish_offline, publish_online

log = logging.getLogger(__name__)

# Readings held in memory beyond which new QoS 0 readings are refused (counted as dropped),
# in batches: reached only while InfluxDB is down and the spool is full.
HELD_BATCHES = 10


class Listener:
    def __init__(self, settings):
        self.settings = settings
        self.stats = Stats()
        self.parser = Parser(settings.mqtt.sensors_root, settings.max_payload_bytes)
        self.journal_topics = journal.JournalTopics(settings.mqtt.alerts_root)
        # The alarm journal is always QoS 1: it must not be lost, whatever LISTENER_QOS says.
        self.subscriptions = [(topic, settings.qos) for topic in settings.topics] + [
            (journal.subscription(settings.mqtt.alerts_root, settings.topics), 1)]
        self.encoder = Encoder()
        self.spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        self.influx = Influx(settings.influx, timeout=5)
        self.client = make_client(settings.mqtt, clean_session=False, manual_ack=True)
        self.batcher = Batcher(settings.batch_size, settings.flush_interval,
                               settings.max_unacked, self._hand_off,
                               max(HELD_BATCHES * settings.batch_size, 10_000))
        self.writer = Writer(settings, self.influx, self.spool, self.batcher, self.stats,
                             self._ack, self.client.is_connected)
        self._last_ns = 0
        self._connect_failure = None
        self._errors = 0
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self):
        self.spool.open()
        self.writer.start()
        mqtt = self.settings.mqtt
        self.client.connect_async(mqtt.host, mqtt.port, mqtt.keepalive)
        self.client.loop_start()
        log.info("listening on %s:%d to %s", mqtt.host, mqtt.port,
                 ", ".join(topic for topic, _ in self.subscriptions))
        return self

    def stop(self):
        """Flush what is held (to InfluxDB or the spool), acknowledge it, then say offline."""
        self.writer.stop()
        if self.client.is_connected():
            publish_offline(self.client, self.settings.mqtt)
        self.client.disconnect()
        self.client.loop_stop()
        if not self.writer.alive:
            self.writer.store_late()
        log.info("stopped: %d received, %d stored, %d spooled, %d rejected",
                 self.stats.received, self.stats.stored, self.stats.spooled,
                 sum(self.stats.rejected.values()))

    def _hand_off(self, batch):
        self.writer.hand_off(batch)

    def _ack(self, mid):
        self.client.ack(mid, 1)

    # paho callbacks: they run on the network thread, return quickly, and never raise.

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            if str(reason_code) != self._connect_failure:
                log.error("broker refused the connection: %s", reason_code)
            self._connect_failure = str(reason_code)
            return
        self._connect_failure = None
        client.subscribe(self.subscriptions)
        publish_online(client, self.settings.mqtt)
        log.info("connected to the broker (session present: %s)", flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        for (topic, _), code in zip(self.subscriptions, reason_codes):
            if code.is_failure:
                log.error("broker refused the subscription to %r: %s", topic, code)

    def _on_message(self, client, userdata, message):
        try:
            self._handle(message.topic, message.payload, message.mid, message.qos)
        except Exception:  # noqa: BLE001 - an exception must not reach paho's network thread
            self._errors += 1
            if self._errors <= 10 or self._errors % 1000 == 0:
                log.exception("internal error on a message (%d so far)", self._errors)

    def _handle(self, topic, payload, mid, qos):
        now = time.time_ns()
        if now <= self._last_ns:  # receive times never repeat, so a burst cannot collide
            now = self._last_ns + 1
        self._last_ns = now
        self.stats.received += 1
        point = journal.line(payload, self.settings.max_payload_bytes) \
            if topic in self.journal_topics else self.parser.parse(topic, payload, now)
        if type(point) is Rejection:
            self.stats.reject(point.kind, topic, point.detail)
            if qos:
                self.batcher.add(None, mid, qos)  # acknowledged in order with the others
            return
        if not qos and self.batcher.overloaded():
            self.stats.dropped += 1
            return
        self.batcher.add(point if type(point) is str else self.encoder.encode(point), mid, qos)
