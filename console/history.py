"""History from InfluxDB 1.x with the console's read-only user: the last hour of every series
for the sparklines (one query for all, cached), PID loop trends, and bounded, downsampled ranges
for the read API. The schema is the listener's (docs/topics.md): measurement = the reading's
name, tag `device`, field `value`."""

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError
from requests.exceptions import RequestException

log = logging.getLogger(__name__)
SPARK_WINDOW_S = 3600
SPARK_BUCKET_S = 60
SPARK_CACHE_S = 20.0


@dataclass(frozen=True)
class InfluxSettings:
    url: str = "http://localhost:8086"
    database: str = "iot"
    username: str | None = None
    password: str | None = None
    timeout: float = 5.0


class HistoryError(RuntimeError):
    """InfluxDB could not answer; the message says why (shown, never a crash)."""


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class History:
    def __init__(self, settings, clock=time.monotonic):
        url = urlsplit(settings.url)
        ssl = url.scheme == "https"
        self.client = InfluxDBClient(
            host=url.hostname, port=url.port or (443 if ssl else 8086), ssl=ssl,
            verify_ssl=ssl, path=url.path.rstrip("/"), username=settings.username,
            password=settings.password, database=settings.database, timeout=settings.timeout,
            retries=1)
        self._clock = clock
        self._lock = threading.Lock()
        self._spark = ({}, -1e18)

    def _query(self, query, params=None):
        try:
            return self.client.query(query, bind_params=params, epoch="ms")
        except (InfluxDBClientError, InfluxDBServerError, RequestException, OSError) as error:
            raise HistoryError(f"InfluxDB: {str(error)[:200]}") from None

    def sparklines(self):
        """{(device, measurement): [(ms, mean), ...]} of the last hour, per minute; cached."""
        with self._lock:
            cached, at = self._spark
            if self._clock() - at < SPARK_CACHE_S:
                return cached
            try:
                result = self._query(
                    f'SELECT mean("value") FROM /.*/ WHERE time > now() - {SPARK_WINDOW_S}s '  # noqa: S608
                    f'GROUP BY time({SPARK_BUCKET_S}s), "device" fill(none)')
            except HistoryError as error:
                log.warning("sparklines: %s", error)
                self._spark = (cached, self._clock())
                return cached
            lines = {}
            for (measurement, tags), points in result.items():
                device = (tags or {}).get("device")
                if device:
                    lines[(device, measurement)] = [(p["time"], p["mean"]) for p in points
                                                    if p.get("mean") is not None]
            self._spark = (lines, self._clock())
            return lines

    def series(self, device, measurement, start_ms, end_ms, bucket_s):
        """[(ms, mean, min, max)] of one series between two instants, in buckets of bucket_s."""
        # The measurement is quoted as an identifier, numbers are integers, the device is bound.
        result = self._query(
            f'SELECT mean("value"), min("value"), max("value") FROM {_quote(measurement)} '  # noqa: S608
            f'WHERE "device" = $device AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms '
            f'GROUP BY time({int(bucket_s)}s) fill(none)', {"device": device})
        return [(p["time"], p["mean"], p["min"], p["max"]) for p in result.get_points()]

    def alarm_journal(self, start_ms, end_ms, limit):
        """The webhook's alarm journal (docs/annunciator.md) between two instants, newest first."""
        result = self._query(
            f'SELECT * FROM "alarm_journal" WHERE time >= {int(start_ms)}ms '  # noqa: S608
            f"AND time < {int(end_ms)}ms ORDER BY time DESC LIMIT {int(limit)}")
        return [{"t": p["time"], "alert": p.get("alert"), "device": p.get("device"),
                 "from": p.get("from"), "to": p.get("to"), "by": p.get("by")}
                for p in result.get_points()]

    def loop_trend(self, loop, window_s=SPARK_WINDOW_S, bucket_s=SPARK_BUCKET_S // 4):
        """{"pv": [(ms, v)], "sp": [...], "out": [...]} of a loop's last hour."""
        now_ms = time.time_ns() // 1_000_000
        trend = {}
        for member in ("pv", "sp", "out"):
            trend[member] = [(t, v) for t, v, _, _ in
                             self.series(loop, member, now_ms - window_s * 1000, now_ms,
                                         bucket_s)]
        return trend


def polyline(points, width, height, lower=None, upper=None, x_range=None):
    """SVG polyline coordinates of [(x, y)] scaled into width x height (y up); '' if empty."""
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = x_range or (min(xs), max(xs))
    y0 = min(ys) if lower is None else lower
    y1 = max(ys) if upper is None else upper
    dx, dy = (x1 - x0) or 1, (y1 - y0) or 1
    return " ".join(f"{(x - x0) / dx * width:.1f},{height - (y - y0) / dy * height:.1f}"
                    for x, y in points)
