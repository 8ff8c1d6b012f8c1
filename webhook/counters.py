"""The webhook's counters (requests, refusals, publishes ...): thread-safe, kept in
`app.extensions["counters"]`, read by /healthz and published as readings. Routes count with
`count(name)`."""

import threading
from collections import Counter

from flask import current_app

EXTENSION = "counters"


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


def count(name, amount=1):
    """Count `amount` under `name` in the current app's Counters."""
    current_app.extensions[EXTENSION].count(name, amount)
