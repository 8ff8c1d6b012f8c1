"""The store seam: where the writer puts batches of line protocol.

A store has an `encoder` (the listener's stats and journal lines come through it too),
`write(data, points)` (returns how many points it refused for good), `prepare(...)` (database,
retention policies, downsampling; safe to repeat) and `exists()`. Its failures are the errors
below, the same whatever the store: the writer holds and retries on StoreError, sets up again on
DatabaseMissing, and reports NotAuthorized. `open_store()` picks the store from INFLUXDB_URL's
scheme: http(s) is InfluxDB 1.x (or anything speaking its v1 write API), memory: keeps lines in
the process (tests and trials; lost at exit).
"""

from typing import Protocol

from listener.line_protocol import Encoder


class StoreError(Exception):
    """A write or set-up that did not happen; the data stays held and is tried again."""


class Unavailable(StoreError):
    """The store cannot take the write now (down, overloaded, timing out): retry later."""


class DatabaseMissing(Unavailable):
    """The database is gone (dropped while running): set it up again, then retry."""


class NotAuthorized(StoreError):
    """The store refuses the credentials, or the user lacks the privilege."""


class SetupRefused(StoreError):
    """The store refused a set-up statement for another reason than the user's rights."""


class Store(Protocol):
    encoder: Encoder

    def write(self, data: bytes, points: int) -> int: ...

    def prepare(self, retention: str, downsample_retention: str,
                downsample_interval: str | None) -> None: ...

    def exists(self) -> bool: ...


class MemoryStore:
    """Keeps every written line in `lines`, in order; never fails by itself."""

    def __init__(self):
        self.encoder = Encoder()
        self.lines = []
        self.prepared = False

    def write(self, data, points):
        self.lines += data.decode().splitlines()
        return 0

    def prepare(self, retention, downsample_retention, downsample_interval):
        self.prepared = True

    def exists(self):
        return self.prepared


SCHEMES = ("http", "https", "memory")


def open_store(influx_settings, timeout=5):
    """The store INFLUXDB_URL names (its scheme is one of SCHEMES, checked by the settings)."""
    if influx_settings.url.startswith("memory:"):
        return MemoryStore()
    from listener.influx import Influx

    return Influx(influx_settings, timeout=timeout)
