"""The webhook's side of the alarm journal: annunciator transitions recorded as entries with
strictly increasing times, and the entries the broker has not yet taken published to it.

The pending entries live in the alert store's `journal` list (its state document carries them
over a restart); the Journal is handed that list, since a restore replaces the store.
"""

import logging

from service_common import journal

log = logging.getLogger(__name__)

# Journal entries kept while the broker does not take them; beyond, the oldest are dropped. They
# ride in the state document too: 1000 entries add about 130 KB to it.
JOURNAL_LIMIT = 1000


class Journal:
    def __init__(self, topic, publish_messages, count):
        """`publish_messages([(topic, payload)], timeout)` raises BrokerUnavailable unless the
        broker took them all; `count(name, amount)` counts journal_dropped."""
        self.topic = topic
        self._publish_messages = publish_messages
        self._count = count
        self._last_ms = 0

    @property
    def last_ms(self):
        """The time of the last entry recorded (epoch ms)."""
        return self._last_ms

    def record(self, pending, transitions, now):
        """Append `transitions` to `pending`, each with its own time (epoch ms from `now` in
        seconds, strictly increasing, so that no two entries of one webhook share a point in
        InfluxDB); drop the oldest beyond JOURNAL_LIMIT."""
        for transition in transitions:
            ts = self._last_ms = max(int(now * 1000), self._last_ms + 1)
            pending.append(journal.Entry(ts, *transition))
        excess = len(pending) - JOURNAL_LIMIT
        if excess > 0:
            del pending[:excess]
            self._count("journal_dropped", excess)
            log.warning("the broker has not taken the alarm journal: dropped its %d oldest "
                        "entries", excess)

    def publish(self, pending, timeout):
        """Publish the `pending` entries and remove them once acknowledged (they are also in the
        state document, so a restart sends them again; a repeated entry overwrites itself)."""
        entries = list(pending)
        if not entries:
            return
        self._publish_messages([(self.topic, journal.encode(entry)) for entry in entries],
                               timeout)
        del pending[:len(entries)]
