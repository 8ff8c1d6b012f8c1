"""Login throttling: at most `limit` failed tries per user name and per address in a sliding
minute, so that guessing is no faster than that. Pure apart from the clock; bounded memory."""

import threading
import time
from collections import OrderedDict, deque

WINDOW_S = 60.0
MAX_KEYS = 10_000


class Throttle:
    def __init__(self, limit, window_s=WINDOW_S, clock=time.monotonic, max_keys=MAX_KEYS):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures = OrderedDict()  # key -> deque of failure times, oldest key first
        self._lock = threading.Lock()

    def _recent(self, key, now):
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def retry_after(self, *keys):
        """Seconds to wait before any of `keys` may try again; 0 when all may."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            for key in keys:
                if self._recent(key, now) >= self.limit:
                    wait = max(wait, self._failures[key][0] + self.window_s - now)
            return wait

    def failed(self, *keys):
        with self._lock:
            now = self._clock()
            for key in keys:
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                while len(times) > self.limit:
                    times.popleft()
                self._failures[key] = times
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, *keys):
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
