"""A cap on the measurements each device may create. Every new measurement name is a new series
in InfluxDB, held in its memory index for good: one board (one stolen identity) sending made-up
names would grow it without end. Beyond the cap, a device's new names are refused and counted;
the names it already uses go on being stored.

Memory stays bounded (MAX_TRACKED pairs of device and measurement, all devices together) by
forgetting the devices that sent nothing for longest, one at a time, never everything at once:
a device that keeps writing stays remembered, so its cap holds; a new board is always admitted;
and a forgotten device regains its names only after MAX_TRACKED newer pairs pushed it out."""

import logging
from collections import OrderedDict

from listener.parse import Rejection

log = logging.getLogger(__name__)

MAX_TRACKED = 100_000


class MeasurementCap:
    def __init__(self, per_device, max_tracked=MAX_TRACKED):
        self.per_device = per_device
        self.max_tracked = max_tracked
        self._names = OrderedDict()  # device -> its measurement names; least recent first
        self._tracked = 0
        self.forgotten = 0           # devices pushed out to keep the memory bounded

    def admit(self, device, measurement):
        """None when `device` may write `measurement`, else a Rejection."""
        names = self._names.get(device)
        if names is not None:
            self._names.move_to_end(device)
            if measurement in names:
                return None
            if len(names) >= self.per_device:
                return Rejection("too_many_measurements", f"device {device!r} already writes "
                                 f"{len(names)} measurements (LISTENER_MAX_MEASUREMENTS_PER_"
                                 f"DEVICE): {measurement!r:.60} refused")
        while self._tracked >= self.max_tracked:
            oldest, dropped = self._names.popitem(last=False)
            self._tracked -= len(dropped)
            self.forgotten += 1
            if self.forgotten in (1, 10, 100) or self.forgotten % 10_000 == 0:
                log.warning("%d measurement names remembered: forgot device %r, the one quiet "
                            "for longest (%d devices forgotten so far)", self.max_tracked,
                            oldest, self.forgotten)
            if oldest == device:
                names = None
        if names is None:
            names = self._names[device] = set()
        names.add(measurement)
        self._tracked += 1
        return None
