"""Refused requests (401, 400, 413, 422 ...): one helper builds every refusal's JSON answer,
`{"error", "reason", ...}`, counts it, and notes it for the refusal log, which writes one line
per interval with the counts and the client addresses, however many there are."""

import logging
import threading
import time
from collections import Counter

from flask import current_app, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES

from webhook.counters import count

log = logging.getLogger(__name__)

EXTENSION = "refusal_log"
_ADDRESSES_SHOWN = 5


def refusal(status, reason, counter, *, error=None, headers=None, **extra):
    """The answer to a refused request: `{"error": <error or the status's name>, "reason":
    reason, **extra}` with `status` and `headers`, counted under `counter` (None: not counted).
    Counted refusals of the client's request (4xx) are also noted for the next refusal log line;
    a 5xx is the server's own trouble and only counted."""
    if counter is not None:
        count(counter)
    if counter is not None and status < 500:
        refusals = current_app.extensions.get(EXTENSION)
        if refusals is not None:
            refusals.note(status, counter, request.remote_addr or "unknown")
    response = jsonify(error=error or HTTP_STATUS_CODES.get(status, "error").lower(),
                       reason=reason, **extra)
    response.status_code = status
    response.headers.update(headers or {})
    return response


class RefusalLog:
    def __init__(self, interval, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._kinds = Counter()
        self._addresses = Counter()
        self._since = clock()
        self._next = self._since  # the first refusal after a quiet interval is logged at once

    def note(self, status, kind, address):
        with self._lock:
            self._kinds[f"{status} {kind}"] += 1
            self._addresses[address] += 1
            due = self.clock() >= self._next
        if due:
            self.flush()

    def flush(self):
        """Log what was refused since the last line (nothing when nothing was)."""
        with self._lock:
            now = self.clock()
            kinds, addresses, since = self._kinds, self._addresses, self._since
            self._kinds, self._addresses, self._since = Counter(), Counter(), now
            self._next = now + self.interval
        if not kinds:
            return None
        shown = addresses.most_common(_ADDRESSES_SHOWN)
        others = len(addresses) - len(shown)
        line = (f"refused {sum(kinds.values())} requests in {now - since:.0f} s: "
                + ", ".join(f"{kind} x{n}" for kind, n in sorted(kinds.items()))
                + "; from " + ", ".join(f"{address} x{n}" for address, n in shown)
                + (f" and {others} other addresses" if others else ""))
        log.warning("%s", line)
        return line
