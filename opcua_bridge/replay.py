"""Replaying the bridge's recent readings after the broker lost its state (issue 19).

The bridge keeps a retained marker, `opcua/<client id>/marker` = the epoch ms when it was last
refreshed (every stats interval). A broker that restarts from an older snapshot gives back an
older marker; one that lost its data gives none. Either way, readings the broker acknowledged
after that marker may be gone (queued for the listener, never saved): the bridge publishes again
those of its bounded in-memory buffer stamped at or after the marker (all of them when the
marker is gone). Readings carry their `ts`, so a reading stored twice is stored once.
"""

import threading
from collections import deque


def replay_from(last_sent_ms, retained_ms):
    """Epoch ms from which to replay, or None when nothing was lost.

    last_sent_ms: the newest marker this process published (None: none yet, at start-up);
    retained_ms: the marker the broker gave back at (re)connect (None: it has none)."""
    if last_sent_ms is None:
        return None
    if retained_ms is None:
        return 0
    return retained_ms if retained_ms < last_sent_ms else None


class ReplayBuffer:
    """The newest `size` readings as (sent at ms, topic, payload); thread-safe."""

    def __init__(self, size):
        self.entries = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, sent_ms, topic, payload):
        with self._lock:
            self.entries.append((sent_ms, topic, payload))

    def since(self, sent_ms):
        with self._lock:
            return [(topic, payload) for at, topic, payload in self.entries if at >= sent_ms]


def parse_marker(payload):
    try:
        return int(payload.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
