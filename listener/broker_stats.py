"""mosquitto's own counters from `$SYS/broker/...`, kept for `listener_stats`.

A reading the broker drops (a client's queue full, `max_queued_messages`) never reaches the
listener; these counters make such a loss visible. mosquitto publishes them every `sys_interval`
(10 s by default), retained. Where the ACL refuses `$SYS`, no field is written.
"""

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
        """A paho message on one of BROKER_COUNTERS' topics (the network thread routes only
        those here)."""
        field = BROKER_COUNTERS.get(message.topic)
        try:
            self._values[field] = int(message.payload)
        except ValueError:
            pass  # not a number (another broker's format): leave it out

    def fields(self):
        return dict(self._values)
