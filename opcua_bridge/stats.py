"""The bridge's health counters, published as ordinary readings on
`sensors/<client id>/<counter>` (cumulative counters since start, and gauges)."""

import logging
from collections import Counter

log = logging.getLogger(__name__)

COUNTERS = ("readings", "republished", "bad_quality", "non_numeric", "dropped", "reconnects",
            "unknown_nodes", "writes", "write_refused", "replayed")
GAUGES = ("buffered", "session_state")


class Stats:
    """Written by the OPC UA thread only; read by the stats timer (ints, no lock needed)."""

    def __init__(self):
        self.readings = 0          # good numeric values handed to MQTT
        self.republished = 0       # last good values sent again (republish_interval_ms)
        self.bad_quality = 0       # values whose status was not Good
        self.non_numeric = 0       # strings, arrays and other non-numbers
        self.dropped = 0           # readings refused because the buffer was full
        self.reconnects = 0        # sessions established after the first one
        self.unknown_nodes = 0     # nodes the server refused at the last subscribe
        self.session_state = 0     # 1 while a session with live subscriptions exists
        self.writes = 0            # values written to the server (opcua/<id>/write/...)
        self.write_refused = 0     # write requests refused (undeclared, not a number, ...)
        self.replayed = 0          # readings sent again after the broker lost its state
        self.bad_by_node = Counter()
        self._bad_nodes = set()    # nodes whose latest value was not Good
        self._non_numeric_logged = set()
        self._drop_logged = False

    def bad(self, node, status):
        self.bad_quality += 1
        self.bad_by_node[node.name] += 1
        if node.name not in self._bad_nodes:
            self._bad_nodes.add(node.name)
            log.warning("%s: status %s, values skipped until it is Good again", node.name,
                        getattr(status, "name", status))

    def good(self, node):
        self.readings += 1
        if node.name in self._bad_nodes:
            self._bad_nodes.discard(node.name)
            log.info("%s: status Good again after %d bad values", node.name,
                     self.bad_by_node[node.name])

    def non_number(self, node, value):
        self.non_numeric += 1
        if node.name not in self._non_numeric_logged:
            self._non_numeric_logged.add(node.name)
            log.warning("%s: value %.60r (%s) is not a number: not forwarded (logged once)",
                        node.name, value, type(value).__name__)

    def drop(self, buffer_size):
        self.dropped += 1
        if not self._drop_logged:
            self._drop_logged = True
            log.error("MQTT buffer full (%d messages): readings are dropped until the broker "
                      "takes them again", buffer_size)

    def buffer_drained(self):
        self._drop_logged = False

    def values(self, buffered):
        values = {name: getattr(self, name) for name in COUNTERS}
        values.update(buffered=buffered, session_state=self.session_state)
        return values
