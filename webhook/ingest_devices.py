"""The devices `/ingest` users may create, beyond their own patterns:

- never a reserved device (the services' client ids, INGEST_RESERVED_DEVICES such as the OPC UA
  bridge's devices and loops) nor a look-alike of one: the same name after Unicode compatibility
  folding (fullwidth letters), case folding, and without white space, invisible format
  characters, `-`, `_` and `.` (`Webhook`, `webhook `, `tic-101` for `tic101`);
- no name with white space at either end or an invisible format character (422 `bad_name`);
- at most INGEST_MAX_DEVICES_PER_USER distinct devices per user since the webhook started, so
  one login cannot create device ids without end (InfluxDB's max-values-per-tag, the listener's
  per-device tables).
"""

import re
import threading
import unicodedata
from fnmatch import fnmatchcase

_IGNORED = re.compile(r"[\s\-_.]")


def fold(name):
    """`name` as look-alikes share it: NFKC, case-folded, without white space, format
    characters, `-`, `_` and `.`."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return _IGNORED.sub("", "".join(c for c in text if unicodedata.category(c) != "Cf"))


def look_problem(device):
    """Why `device` is no name an HTTP sender may use, or None."""
    if device != device.strip():
        return "has white space at its start or end"
    if any(unicodedata.category(c) == "Cf" for c in device):
        return "holds an invisible format character"
    return None


def is_reserved(device, reserved_names, reserved_patterns):
    """True when `device` is, or looks like, a reserved name or matches a reserved pattern."""
    folded = fold(device)
    return folded in reserved_names or any(
        fnmatchcase(device, p) or fnmatchcase(folded, fold(p)) for p in reserved_patterns)


class DeviceCap:
    """The distinct devices each user has written since start, at most `limit` per user."""

    def __init__(self, limit):
        self.limit = limit
        self._devices = {}  # user name -> set of device names
        self._lock = threading.Lock()

    def over(self, user, devices):
        """The devices of `devices` the user may not add: none while it stays within the cap."""
        with self._lock:
            known = self._devices.get(user, set())
            new = sorted(set(devices) - known)
            return new if len(known) + len(new) > self.limit else []

    def record(self, user, devices):
        with self._lock:
            known = self._devices.setdefault(user, set())
            known.update(devices)
