"""mosquitto's own counters from `$SYS/broker/...`, kept for `listener_stats`.

A reading the broker drops (a client's queue full, `max_queued_messages`) never reaches the
listener; these counters make such a loss visible. mosquitto publishes them every `sys_interval`
(10 s by default), retained, at QoS 0. Where the ACL refuses `$SYS`, no field is written.

They come on a connection of their own (clean session, client id LISTENER_BROKER_STATS_CLIENT_ID),
never in the readings' persistent session: mosquitto 2.0.11 strands one queued QoS 1 message
for each QoS 0 message it finds beyond the in-flight window when a persistent session resumes
(docs/listener.md, "What the broker can lose"), and the counters are such QoS 0 messages.
"""

import logging

from service_common.mqtt import make_client

log = logging.getLogger(__name__)

# $SYS topic (mosquitto 2.0, `man mosquitto`) -> listener_stats field
BROKER_COUNTERS = {
    "$SYS/broker/publish/messages/dropped": "broker_dropped",
    "$SYS/broker/store/messages/count": "broker_store_messages",
    "$SYS/broker/store/messages/bytes": "broker_store_bytes",
    "$SYS/broker/messages/inflight": "broker_inflight",
    "$SYS/broker/publish/messages/received": "broker_publish_received",
    "$SYS/broker/publish/messages/sent": "broker_publish_sent",
    "$SYS/broker/clients/connected": "broker_clients_connected",
}


class BrokerCounters:
    """The latest value of each counter seen; `fields()` holds only those seen."""

    def __init__(self):
        self._values = {}

    def handle(self, message):
        """A paho message on one of BROKER_COUNTERS' topics."""
        field = BROKER_COUNTERS.get(message.topic)
        if field is None:
            return
        try:
            self._values[field] = int(message.payload)
        except ValueError:
            pass  # not a number (another broker's format): leave it out

    def fields(self):
        return dict(self._values)


class BrokerStatsLink:
    """The connection that reads the counters into `counters`: clean session, QoS 0, no
    status topic and no Last Will (it is part of the listener, whose status says it all)."""

    def __init__(self, mqtt_settings, counters, client_factory=make_client):
        self.settings = mqtt_settings
        self.counters = counters
        self.client = client_factory(mqtt_settings, clean_session=True)
        self.client.will_clear()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._refused_logged = False

    def start(self):
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive)
        self.client.loop_start()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            if not self._refused_logged:
                log.warning("broker refused the statistics connection (%s, user %r): the "
                            "broker's counters are not written to listener_stats", reason_code,
                            self.settings.username)
                self._refused_logged = True
            return
        client.subscribe([(topic, 0) for topic in BROKER_COUNTERS])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        for topic, code in zip(BROKER_COUNTERS, reason_codes):
            if code.is_failure:
                log.info("broker refused %r (%s): its counter is not written to listener_stats",
                         topic, code)

    def _on_message(self, client, userdata, message):
        try:
            self.counters.handle(message)
        except Exception:  # noqa: BLE001 - never let an exception reach paho's network thread
            log.exception("bad broker counter on %r", message.topic)
