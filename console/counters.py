"""The console's counters (refusals and the like), shown to engineers at /counters."""

import threading
from collections import Counter


class Counters:
    def __init__(self):
        self._counts = Counter()
        self._lock = threading.Lock()

    def add(self, name, amount=1):
        with self._lock:
            self._counts[name] += amount

    def snapshot(self):
        with self._lock:
            return dict(self._counts)
