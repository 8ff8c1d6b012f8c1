"""The listener's health counters, written as measurement `listener_stats`.

Counters are cumulative since start (use non_negative_derivative in Grafana); gauges are
current values. Each counter is written by one thread only, so no lock is needed.
"""

import logging

from listener.broker_stats import BrokerCounters
from listener.line_protocol import encode_fields
from listener.parse import KINDS as PARSE_KINDS
from listener.seq_gaps import SeqGaps
from service_common.readings import LISTENER_STATS

log = logging.getLogger(__name__)

MEASUREMENT = LISTENER_STATS
# Every kind of rejection, each counted as rejected_<kind>: the parser's, then the listener's.
KINDS = PARSE_KINDS + (
    "retained",      # a retained message on the readings' topics: stored when it was live
    "too_many_measurements",  # a new measurement beyond LISTENER_MAX_MEASUREMENTS_PER_DEVICE
    "forged_source",  # an event journal entry whose source is not its topic's sender
)


class Stats:
    def __init__(self):
        # Counters of the MQTT network thread.
        self.received = 0
        self.rejected = dict.fromkeys(KINDS, 0)
        self.dropped = 0          # QoS 0 readings refused while spool and memory were full
        self.seq = SeqGaps()      # readings missing from each device's seq count
        self._examples = {}
        # Counters of the writer thread.
        self.stored = 0           # points InfluxDB accepted
        self.spooled = 0          # points written to the spool
        self.retries = 0          # failed InfluxDB writes that will be retried
        self.influx_rejected = 0  # points InfluxDB refused for good (type conflict, unparseable)
        self.not_authorized = 0   # writes InfluxDB answered 401/403 (held and retried)
        # Gauges, set by the writer thread.
        self.spool_bytes = 0
        self.spool_points = 0
        self.pending_points = 0   # held in memory, neither stored nor spooled yet
        self.lag_ms = 0.0         # receive-to-stored time of the last stored batch
        self.broker = BrokerCounters()  # mosquitto's $SYS counters, when the ACL allows them
        self._logged = dict.fromkeys(KINDS, 0)
        self._logged_dropped = 0

    def reject(self, kind, topic, detail):
        self.rejected[kind] += 1
        self._examples[kind] = (topic, detail)

    def fields(self):
        fields = {
            "received": self.received,
            "stored": self.stored,
            "spooled": self.spooled,
            "retries": self.retries,
            "dropped": self.dropped,
            "influx_rejected": self.influx_rejected,
            "not_authorized": self.not_authorized,
            "spool_bytes": self.spool_bytes,
            "spool_points": self.spool_points,
            "pending_points": self.pending_points,
            "lag_ms": float(self.lag_ms),
            "seq_gaps": self.seq.gaps,
            "seq_restarts": self.seq.restarts,
        }
        for kind, count in self.rejected.items():
            fields[f"rejected_{kind}"] = count
        fields["rejected"] = sum(self.rejected.values())
        fields.update(self.broker.fields())
        return fields

    def line(self, client_id, time_ns, encode=encode_fields):
        """The listener_stats line; `encode` is the store's encoder's `fields`."""
        return encode(MEASUREMENT, {"client_id": client_id}, self.fields(), time_ns)

    @staticmethod
    def missing_lines(client_id, missing, time_ns, encode=encode_fields):
        """One line per device with readings found missing since the last stats write
        (`seq_missing`, tag `device`): what the "Readings lost in transit" rule sums."""
        return [encode(MEASUREMENT, {"client_id": client_id, "device": device},
                              {"seq_missing": count}, time_ns)
                for device, count in sorted(missing.items())]

    def log_rejections(self, interval):
        """One line per kind of rejection seen since the last call, with the latest example."""
        for kind, count in self.rejected.items():
            new = count - self._logged[kind]
            if new:
                self._logged[kind] = count
                topic, detail = self._examples.get(kind, ("?", "?"))
                log.warning("rejected %d %s payloads in the last %.0f s, latest on %r: %s",
                            new, kind, interval, topic, detail)
        if self.dropped > self._logged_dropped:
            log.error("dropped %d QoS 0 readings in the last %.0f s: InfluxDB unavailable and the "
                      "spool full", self.dropped - self._logged_dropped, interval)
            self._logged_dropped = self.dropped
