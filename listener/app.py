"""Wiring: the paho client, its thin callbacks, the batcher and the writer thread."""

import logging
import time

from paho.mqtt.client import topic_matches_sub

from listener import events, journal
from listener.acks import send_pubacks
from listener.batcher import Batcher
from listener.broker_stats import BrokerStatsLink
from listener.measurement_cap import MeasurementCap
from listener.paced_reads import paced_read_client
from listener.parse import Parser, Rejection, parse_payload
from listener.spool import Spool
from listener.stats import Stats
from listener.store import open_store
from listener.writer import Writer, WriterSettings
from service_common.mqtt import publish_offline, publish_online

log = logging.getLogger(__name__)

# Readings held in memory beyond which new QoS 0 readings are refused (counted as dropped),
# in batches: reached only while InfluxDB is down and the spool is full.
HELD_BATCHES = 10
# Readings topics whose series are remembered; beyond, the memory is cleared and refilled.
SERIES_CACHE = 10_000
# A retained reading comes again at every subscription, stamped with that time if it has no ts.
RETAINED = Rejection("retained", "a retained message: readings are stored when they are live")


class Listener:
    """Collaborators come from outside when given: an `influx` store (listener.store.Store),
    a `spool`, and `client_factory(mqtt_settings, clean_session=, manual_ack=)` for the client."""

    def __init__(self, settings, influx=None, spool=None, client_factory=paced_read_client):
        self.settings = settings
        self.stats = Stats()
        self.parser = Parser(settings.mqtt.sensors_root, settings.max_payload_bytes,
                             settings.reading_rules)
        self.measurements = MeasurementCap(settings.max_measurements_per_device)
        self.spool = spool if spool is not None else Spool(settings.spool_dir,
                                                           settings.spool_max_bytes)
        self.influx = influx if influx is not None else open_store(settings.influx, timeout=5)
        self.encoder = self.influx.encoder
        self._reading_line = self.encoder.reading
        self.client = client_factory(settings.mqtt, clean_session=False, manual_ack=True)
        # (topic filter, qos) subscribed at each connect; readings first, then route()'s.
        self.subscriptions = [(topic, settings.qos) for topic in settings.topics]
        self.batcher = Batcher(settings.batch_size, settings.flush_interval,
                               settings.max_unacked, self._hand_off,
                               max(HELD_BATCHES * settings.batch_size, 10_000),
                               settings.qos1_flush_interval, self._batch_opened)
        self.writer = Writer(WriterSettings.from_settings(settings), self.influx, self.spool,
                             self.batcher, self.stats, self._ack, self.client.is_connected)
        self._last_ns = 0
        self._series = {}  # readings topic -> (measurement, device, series key) or Rejection
        self._max_payload_bytes = settings.max_payload_bytes
        self._rules = settings.reading_rules
        # A listener of a $share group sees only part of each device's readings: its gaps in
        # seq are the other listeners' share, not losses.
        self._follow_seq = not any(t.startswith("$share/") for t in settings.topics)
        self._connect_failure = None
        self._errors = 0
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        # Other subscriptions than the readings' (route()), matched here rather than by paho's
        # message_callback_add, whose topic matcher ran for every reading.
        self._routes = {}  # topic filter -> handler; a filter routed again gets the new one
        self._readings_prefix = settings.mqtt.sensors_root + "/"
        # The broker's counters never share the readings' persistent session (broker_stats.py).
        self.broker_stats = None
        if settings.broker_stats_mqtt is not None:
            self.broker_stats = BrokerStatsLink(settings.broker_stats_mqtt, self.stats.broker,
                                                client_factory)
        journal.route(self)
        events.route(self)

    def route(self, topic_filter, qos, handler):
        """Also subscribe to `topic_filter`; its messages go to `handler(message)` on the
        network thread instead of the reading path (exceptions are logged). At QoS 1 the
        handler passes each message to `store_line()`, so that it is acknowledged."""
        self.subscriptions.append((topic_filter, qos))
        self._routes[topic_filter] = handler

    def start(self):
        self.spool.open()
        self.writer.start()
        mqtt = self.settings.mqtt
        self.client.connect_async(mqtt.host, mqtt.port, mqtt.keepalive)
        self.client.loop_start()
        if self.broker_stats is not None:
            self.broker_stats.start()
        log.info("listening on %s:%d to %s", mqtt.host, mqtt.port, ", ".join(self.settings.topics))
        return self

    def stop(self):
        """Flush what is held (to InfluxDB or the spool), acknowledge it, then say offline."""
        self.writer.stop()
        if self.broker_stats is not None:
            self.broker_stats.stop()
        if self.client.is_connected():
            publish_offline(self.client, self.settings.mqtt)
        self.client.disconnect()
        self.client.loop_stop()
        if not self.writer.alive:
            self.writer.store_received_after_stop()
        log.info("stopped: %d received, %d stored, %d spooled, %d rejected",
                 self.stats.received, self.stats.stored, self.stats.spooled,
                 sum(self.stats.rejected.values()))

    def _hand_off(self, batch):
        self.writer.hand_off(batch)

    def _batch_opened(self):
        self.writer.wake()

    def _ack(self, mids):
        send_pubacks(self.client, mids)

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
        topic = message.topic
        if self._routes and not topic.startswith(self._readings_prefix):
            for topic_filter, handler in self._routes.items():
                if topic_matches_sub(topic_filter, topic):
                    self._guarded(handler, message)
                    return
        try:  # _guarded() inlined: this runs for every reading
            self.handle_reading(message, topic)
        except Exception:  # noqa: BLE001 - an exception must not reach paho's network thread
            self._internal_error()

    def _guarded(self, handler, message):
        try:
            handler(message)
        except Exception:  # noqa: BLE001 - an exception must not reach paho's network thread
            self._internal_error()

    def _internal_error(self):
        self._errors += 1
        if self._errors <= 10 or self._errors % 1000 == 0:
            log.exception("internal error on a message (%d so far)", self._errors)

    def handle_reading(self, message, topic=None):
        """Parse, then batch the line (or only the acknowledgement of a rejected message).

        The one function every reading goes through, written flat: on a busy Pi each message
        finds the caches cold, and each call and object it makes costs several times what a
        warm benchmark says (docs/performance.md, "Listener ingest")."""
        topic = message.topic if topic is None else topic
        now = time.time_ns()
        if now <= self._last_ns:  # receive times never repeat, so a burst cannot collide
            now = self._last_ns + 1
        self._last_ns = now
        self.stats.received += 1
        if message.retain:
            return self._refuse(RETAINED, topic, message)
        series = self._series.get(topic)
        if series is None:
            series = self._new_series(topic)
        if type(series) is Rejection:
            return self._refuse(series, topic, message)
        parsed = parse_payload(message.payload, self._max_payload_bytes, self._rules,
                               now // 1_000_000)
        if type(parsed) is Rejection:
            return self._refuse(parsed, topic, message)
        measurement, device, key = series
        refused = self.measurements.admit(device, measurement)
        if refused is not None:
            return self._refuse(refused, topic, message)
        value, ts, seq = parsed
        if seq is not None and self._follow_seq:
            self.stats.seq.see(device, seq)
        qos = message.qos
        if not qos and self.batcher.held_points >= self.batcher.max_held_points:
            self.stats.dropped += 1
            return None
        self.batcher.add(self._reading_line(key, value, seq,
                                            now if ts is None else ts * 1_000_000),
                         message.mid, qos)
        return None

    def _new_series(self, topic):
        """(measurement, device, series key) of a readings topic, or its Rejection; cached."""
        series = self.parser.series(topic)
        if type(series) is not Rejection:
            series = (*series, self.encoder.series_key(*series))
        if len(self._series) >= SERIES_CACHE:
            self._series.clear()
        self._series[topic] = series
        return series

    def _refuse(self, rejection, topic, message):
        self.stats.reject(rejection.kind, topic, rejection.detail)
        self.store_line(None, message)

    def store_line(self, line, message):
        """Batch one line-protocol `line` (None: nothing to store) from `message`; a QoS 1
        message is acknowledged in arrival order once its batch is stored or spooled."""
        if line is not None or message.qos:
            self.batcher.add(line, message.mid, message.qos)
