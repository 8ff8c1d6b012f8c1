"""Live values: the last reading of every device and measurement (`sensors/<device>/<m>`) and
each device's status (`status/<device>`: online or offline). Pure: no MQTT; the clock is given.
"""

import threading
from dataclasses import dataclass

from service_common.readings import decode_json, parse_number
from service_common.status import ONLINE

MAX_SERIES = 5000  # beyond it new series are counted and left out, never memory without bound


@dataclass
class Series:
    device: str
    measurement: str
    value: float
    at_ms: int  # the reading's ts, else when it arrived


@dataclass
class DeviceStatus:
    online: bool
    live: bool  # seen while subscribed, not only the broker's retained copy
    at_ms: int


def parse_value(payload):
    """(value, ts or None) of a reading's payload, or None when it is no reading."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if text.startswith("{"):
        document = decode_json(text)
        if not isinstance(document, dict):
            return None
        value, ts = document.get("value"), document.get("ts")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value), ts if type(ts) is int and ts > 0 else None
    value = parse_number(text)
    return (value, None) if isinstance(value, float) else None


class ValueBoard:
    def __init__(self, changes, sensors_root="sensors", status_root="status"):
        self.changes = changes
        self.sensors_root, self.status_root = sensors_root, status_root
        self._series = {}
        self._status = {}
        self._lock = threading.Lock()
        self.bad_messages = 0
        self.too_many_series = 0

    @property
    def version(self):
        return self.changes.version

    def subscriptions(self):
        return [f"{self.sensors_root}/+/+", f"{self.status_root}/+"]

    def message(self, topic, payload, retained, now_ms):
        levels = topic.split("/")
        if len(levels) == 2 and levels[0] == self.status_root:
            with self._lock:
                self._status[levels[1]] = DeviceStatus(payload == ONLINE, not retained, now_ms)
            self.changes.bump()
            return True
        if len(levels) != 3 or levels[0] != self.sensors_root or retained:
            return False
        parsed = parse_value(payload)
        if parsed is None:
            with self._lock:
                self.bad_messages += 1
            return False
        value, ts = parsed
        key = (levels[1], levels[2])
        with self._lock:
            if key not in self._series and len(self._series) >= MAX_SERIES:
                self.too_many_series += 1
                return False
            self._series[key] = Series(levels[1], levels[2], value, ts or now_ms)
        self.changes.bump()
        return True

    def series(self):
        with self._lock:
            return sorted(self._series.values(), key=lambda s: (s.device, s.measurement))

    def status(self, device):
        with self._lock:
            return self._status.get(device)

    def known(self, device, measurement):
        with self._lock:
            return (device, measurement) in self._series

    def loops(self):
        """Devices with a `pv` reading: the PID loops (docs/opcua.md)."""
        with self._lock:
            return sorted({d for d, m in self._series if m == "pv"})
