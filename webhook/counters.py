"""The webhook's counters (requests, refusals, publishes ...): thread-safe, read by /healthz and
published as readings."""

import threading
from collections import Counter


class Counters:
    def __init__(self):
        self._counts = Counter()
        self._lock = threading.Lock()

    def count(self, name, amount=1):
        with self._lock:
            self._counts[name] += amount

    def snapshot(self):
        with self._lock:
            return dict(self._counts)
