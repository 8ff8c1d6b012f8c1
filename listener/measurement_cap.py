"""A cap on the measurements each device may create. Every new measurement name is a new series
in InfluxDB, held in its memory index for good: one board (one stolen identity) sending made-up
names would grow it without end. Beyond the cap, a device's new names are refused and counted;
the names it already uses go on being stored."""

import logging

from listener.parse import Rejection

log = logging.getLogger(__name__)

# (device, measurement) pairs remembered, all devices together; beyond it everything is
# forgotten and counted afresh, so memory stays bounded whatever the devices send.
MAX_TRACKED = 100_000


class MeasurementCap:
    def __init__(self, per_device, max_tracked=MAX_TRACKED):
        self.per_device = per_device
        self.max_tracked = max_tracked
        self._names = {}  # device -> the measurement names it writes, since start
        self._tracked = 0

    def admit(self, device, measurement):
        """None when `device` may write `measurement`, else a Rejection."""
        names = self._names.get(device)
        if names is not None and measurement in names:
            return None
        if names is not None and len(names) >= self.per_device:
            return Rejection("too_many_measurements", f"device {device!r} already writes "
                             f"{len(names)} measurements (LISTENER_MAX_MEASUREMENTS_PER_DEVICE): "
                             f"{measurement!r:.60} refused")
        if self._tracked >= self.max_tracked:
            log.warning("%d measurement names remembered for %d devices: forgetting them and "
                        "counting afresh", self._tracked, len(self._names))
            self._names.clear()
            self._tracked = 0
            names = None
        if names is None:
            names = self._names[device] = set()
        names.add(measurement)
        self._tracked += 1
        return None
