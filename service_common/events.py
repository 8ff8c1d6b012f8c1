"""The event journal's wire format: what a service did and why (a command, an override, a
refusal, a fail-safe transition, a login), shared by its writers and the listener (reader).

A service publishes each event, QoS 1, not retained, on `journal/<its client id>` as JSON
`{"ts": <epoch ms>, "n": <0..999999>, "source": "<its client id>", "kind": "override",
"subject": "shed-fan", "by": "alice" or null, "text": "hand on until 14:00: pump test"}`.
The broker vouches for `source`: each service may write only its own journal topic, and the
listener stores an entry only when `source` equals the topic's last level. `n` tells apart the
entries of one millisecond (stored time = ts * 1e6 + n ns), so none overwrites another.
The listener stores them in measurement `event_journal`: tags `source`, `kind`, `subject`;
string fields `by` (when given) and `text`.
"""

import json
import threading
import time
from typing import NamedTuple

ROOT = "journal"
MEASUREMENT = "event_journal"
MAX_TEXT = 1000
MAX_NAME = 128
MAX_N = 999_999


class BadEvent(ValueError):
    """Not an event; `kind` says how (not_utf8, bad_json or wrong_shape)."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind


class Event(NamedTuple):
    ts: int  # epoch milliseconds
    n: int
    source: str
    kind: str
    subject: str
    by: str | None
    text: str


def topic(client_id):
    return f"{ROOT}/{client_id}"


def subscription():
    """The filter that receives every service's journal."""
    return f"{ROOT}/+"


def encode(event):
    return json.dumps({"ts": event.ts, "n": event.n, "source": event.source, "kind": event.kind,
                       "subject": event.subject, "by": event.by, "text": event.text},
                      separators=(",", ":")).encode()


def _name(document, key, optional=False):
    value = document.get(key)
    if optional and value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        raise BadEvent("wrong_shape", f'"{key}" must be a string of 1 to {MAX_NAME} characters'
                                      f"{' or null' if optional else ''}, not {value!r:.40}")
    return value


def decode(payload):
    """The Event in a journal payload; BadEvent saying what is wrong otherwise."""
    try:
        document = json.loads(payload)
    except UnicodeDecodeError as error:
        raise BadEvent("not_utf8", f"not UTF-8: {error}") from None
    except (ValueError, RecursionError) as error:
        raise BadEvent("bad_json", f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise BadEvent("wrong_shape", "an event must be a JSON object")
    ts, n = document.get("ts"), document.get("n", 0)
    if type(ts) is not int or ts <= 0:
        raise BadEvent("wrong_shape", f'"ts" must be epoch milliseconds, not {ts!r:.40}')
    if type(n) is not int or not 0 <= n <= MAX_N:
        raise BadEvent("wrong_shape", f'"n" must be an integer from 0 to {MAX_N}, not {n!r:.40}')
    text = document.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise BadEvent("wrong_shape", f'"text" must be a string of at most {MAX_TEXT} characters')
    return Event(ts, n, _name(document, "source"), _name(document, "kind"),
                 _name(document, "subject"), _name(document, "by", optional=True), text)


class EventClock:
    """Stamps events: (ts, n) pairs that never repeat within one process."""

    def __init__(self, now_ms=None):
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last = (0, -1)

    def stamp(self):
        with self._lock:
            ts = self._now_ms()
            last_ts, last_n = self._last
            n = last_n + 1 if ts <= last_ts else 0
            ts = max(ts, last_ts)
            if n > MAX_N:
                ts, n = ts + 1, 0
            self._last = (ts, n)
            return ts, n

    def event(self, source, kind, subject, text="", by=None):
        ts, n = self.stamp()
        return Event(ts, n, source, kind, subject, by, text)
