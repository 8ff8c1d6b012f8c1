"""Shelved and out-of-service alarms (ISA-18.2): the console's commands, their state, their
expiry. Pure: no MQTT, the clock is given (epoch ms).

A shelf on an alert (device None) covers its summary and every device instance; a shelf on a
device covers that instance, and the summary then follows the other instances. While a shelf
applies the annunciator topics say `shelved` or `out-of-service` instead of the ISA state; the
ISA state machine runs on underneath, and the `1`/`0` topics keep telling the truth. A shelve
expires by itself at its `until` (at most WEBHOOK_SHELVE_MAX_S after the command); out of service
lasts until `in-service`.
"""

import json
from dataclasses import asdict, dataclass

from service_common.journal import OUT_OF_SERVICE, SHELVED

ACTIONS = ("shelve", "unshelve", "out-of-service", "in-service")
MAX_REASON_CHARS = 200
MAX_USER_CHARS = 64
DEFAULT_MAX_S = 8 * 3600


class BadCommand(ValueError):
    """A shelve command that cannot be applied (journaled and counted, never applied)."""


@dataclass(frozen=True)
class Shelf:
    kind: str  # SHELVED or OUT_OF_SERVICE
    by: str
    reason: str
    until: int | None  # epoch ms; None for out of service

    def as_info(self):
        return asdict(self)


@dataclass(frozen=True)
class Command:
    action: str
    by: str
    reason: str
    until: int | None


def parse_command(payload, now_ms, max_s=DEFAULT_MAX_S):
    """The console's JSON command; BadCommand naming what is wrong. A shelve's `until` must be in
    the future; beyond `max_s` from now it is capped."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        raise BadCommand("not JSON") from None
    if not isinstance(document, dict):
        raise BadCommand("not a JSON object")
    action = document.get("action")
    if action not in ACTIONS:
        raise BadCommand(f"action must be one of {', '.join(ACTIONS)}")
    by = document.get("by")
    if not isinstance(by, str) or not 0 < len(by) <= MAX_USER_CHARS or not by.isprintable():
        raise BadCommand(f"by must be the operator's name (1 to {MAX_USER_CHARS} characters)")
    reason = document.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise BadCommand(f"reason must be text of at most {MAX_REASON_CHARS} characters")
    until = None
    if action == "shelve":
        until = document.get("until")
        if type(until) is not int or until <= now_ms:
            raise BadCommand("until must be a time in the future (epoch ms)")
        until = min(until, now_ms + int(max_s * 1000))
    return Command(action, by, reason, until)


class Shelves:
    def __init__(self):
        self.shelves = {}  # (alert, device or None) -> Shelf

    def get(self, alert, device=None):
        """The shelf that applies to the instance (its own, else the alert's), or None."""
        return self.shelves.get((alert, device)) or self.shelves.get((alert, None))

    def own(self, alert, device=None):
        return self.shelves.get((alert, device))

    def apply(self, alert, device, command, by):
        """Apply `command` to (alert, device); returns True when something changed."""
        key = (alert, device)
        before = self.shelves.get(key)
        if command.action == "shelve":
            if before is not None and before.kind == OUT_OF_SERVICE:
                raise BadCommand("out of service: put it back in service first")
            self.shelves[key] = Shelf(SHELVED, by, command.reason, command.until)
        elif command.action == "out-of-service":
            self.shelves[key] = Shelf(OUT_OF_SERVICE, by, command.reason, None)
        elif command.action == "unshelve":
            if before is None or before.kind != SHELVED:
                return False
            del self.shelves[key]
        elif before is None or before.kind != OUT_OF_SERVICE:  # in-service
            return False
        else:
            del self.shelves[key]
        return self.shelves.get(key) != before

    def expired(self, now_ms):
        """Remove the shelves whose time is up; returns their keys."""
        done = [key for key, shelf in self.shelves.items()
                if shelf.until is not None and shelf.until <= now_ms]
        for key in done:
            del self.shelves[key]
        return done

    def forget(self, alert):
        for key in [k for k in self.shelves if k[0] == alert]:
            del self.shelves[key]

    def document(self):
        return [{"alert": alert, "device": device, **asdict(shelf)}
                for (alert, device), shelf in sorted(self.shelves.items(),
                                                     key=lambda item: (item[0][0],
                                                                       item[0][1] or ""))]

    def restore(self, document):
        """Load `document()` output; ValueError when it is not one."""
        if not isinstance(document, list):
            raise ValueError("shelves must be an array")
        shelves = {}
        for entry in document:
            try:
                shelf = Shelf(entry["kind"], entry["by"], entry["reason"], entry["until"])
                key = (entry["alert"], entry["device"])
            except (KeyError, TypeError):
                raise ValueError("bad shelf") from None
            if shelf.kind not in (SHELVED, OUT_OF_SERVICE) or not isinstance(key[0], str) or \
                    not (key[1] is None or isinstance(key[1], str)) or \
                    not (shelf.until is None or type(shelf.until) is int):
                raise ValueError("bad shelf")
            shelves[key] = shelf
        self.shelves = shelves
