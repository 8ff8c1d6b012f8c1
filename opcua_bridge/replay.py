"""Replaying the bridge's recent readings after the broker lost its state (issue 19).

The bridge keeps a retained marker, `opcua/<client id>/marker` = the epoch ms when it was last
refreshed (every stats interval). A broker that restarts from a snapshot gives back the marker
of that snapshot; one that lost its data gives none. Readings the broker acknowledged after that
marker may be gone (queued for the listener, never saved, and the snapshot may be later than the
marker): at every reconnection the bridge publishes again those of its bounded in-memory buffer
sent at or after the marker it reads back (all of them when the marker is gone). When the broker
lost nothing they are duplicates: readings carry their `ts`, so one stored twice is stored once.
"""

import threading
from collections import deque


def replay_from(last_sent_ms, retained_ms):
    """Epoch ms from which to replay, or None at the bridge's first connection.

    last_sent_ms: the newest marker this process published (None: none yet, at start-up);
    retained_ms: the marker the broker gave back at (re)connect (None: it has none)."""
    if last_sent_ms is None:
        return None
    return 0 if retained_ms is None else retained_ms


def lost_state(last_sent_ms, retained_ms):
    """True when the broker certainly lost state: our marker is gone or went back."""
    return last_sent_ms is not None and (retained_ms is None or retained_ms < last_sent_ms)


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
