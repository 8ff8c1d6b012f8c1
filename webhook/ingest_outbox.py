"""The durable outbox of `POST /ingest`: what was answered 202 survives a power cut.

The broker acknowledging a QoS 1 publish does not mean the readings are on disk (mosquitto saves
its state every `autosave_interval`), and the listener may not have stored them yet. So before
`/ingest` publishes and answers 202, it appends the readings to a file here and fsyncs it; at
every start the webhook publishes again what it accepted within the last `window` seconds.
Every reading in the outbox carries `ts` (one is assigned on arrival when the sender gave none),
so a replay stores nothing twice.

Files `ingest-<first ms>.log` hold one JSON line per request, `[accepted ms, [[topic, payload],
...]]`; a torn last line (power cut mid-write) is skipped, as it was never answered 202. A file
is closed after window/2 seconds and deleted once everything in it is older than the window.
At most `max_bytes` are kept: beyond that `/ingest` answers 503 until old files expire.
"""

import json
import logging
import os
import threading
import time
from pathlib import Path

from webhook.mqtt_link import BrokerUnavailable

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
_RETRY_FIRST, _RETRY_CAP = 0.5, 10.0


class OutboxFull(Exception):
    pass


class Outbox:
    def __init__(self, folder, window, max_bytes, clock=time.time):
        self.folder, self.window, self.max_bytes, self.clock = Path(folder), window, max_bytes, \
            clock
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = None
        self._file_started = 0.0
        self._stop = threading.Event()

    # --- writing ---------------------------------------------------------------------------

    def append(self, messages):
        """Make `messages` [(topic, payload bytes)] durable: written and fsynced on return.
        Raises OutboxFull when `max_bytes` are kept already, OSError when the disk fails."""
        now = self.clock()
        line = json.dumps([int(now * 1000), [[t, p.decode()] for t, p in messages]],
                          separators=(",", ":")).encode() + b"\n"
        with self._lock:
            self._rotate(now)
            if self._size() + len(line) > self.max_bytes:
                raise OutboxFull(f"the ingest outbox holds {self.max_bytes} bytes of the last "
                                 f"{self.window:g} s (INGEST_OUTBOX_MAX_BYTES)")
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def _rotate(self, now):
        if self._file is not None and now - self._file_started < self.window / 2:
            return
        if self._file is not None:
            self._file.close()
        for path in self._paths():
            if self._started(path) < (now - 1.5 * self.window) * 1000:
                path.unlink(missing_ok=True)
        self._file_started = now
        self._file = open(self.folder / f"ingest-{int(now * 1000)}.log", "ab")  # noqa: SIM115
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new file's name survives a power cut too
        finally:
            os.close(directory)

    def _paths(self):
        return sorted(self.folder.glob("ingest-*.log"), key=self._started)

    @staticmethod
    def _started(path):
        try:
            return int(path.stem.split("-", 1)[1])
        except ValueError:
            return 0

    def _size(self):
        return sum(path.stat().st_size for path in self._paths() if path.exists())

    # --- replaying -------------------------------------------------------------------------

    def pending(self):
        """[(topic, payload bytes)] accepted within the window, oldest first."""
        since = (self.clock() - self.window) * 1000
        messages = []
        for path in self._paths():
            for raw in path.read_bytes().splitlines():
                try:
                    accepted, batch = json.loads(raw)
                except ValueError:
                    continue  # torn by a power cut while it was written: never answered 202
                if accepted >= since:
                    messages += [(topic, payload.encode()) for topic, payload in batch]
        return messages

    def replay(self, publish, count):
        """Publish what is pending with `publish(messages)`, retrying while the broker is
        unavailable; returns how many readings were published again."""
        messages = self.pending()
        delay = _RETRY_FIRST
        done = 0
        while done < len(messages) and not self._stop.is_set():
            chunk = messages[done:done + REPLAY_BATCH]
            try:
                publish(chunk)
            except BrokerUnavailable as error:
                log.info("ingest outbox replay waits: %s", error)
                self._stop.wait(delay)
                delay = min(delay * 2, _RETRY_CAP)
                continue
            done += len(chunk)
            count("ingest_replayed", len(chunk))
        if messages:
            log.info("ingest outbox: %d readings of the last %g s published again", done,
                     self.window)
        return done

    def start_replay(self, publish, count):
        thread = threading.Thread(target=self.replay, args=(publish, count),
                                  name="ingest-outbox-replay", daemon=True)
        thread.start()
        return thread

    def close(self):
        self._stop.set()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Stamper:
    """Timestamps for readings sent without `ts`, so that a replay stores them once: now in
    epoch ms, but never twice the same ms for one series (device, measurement), which InfluxDB
    would store as one point. Remembers the last `limit` series."""

    def __init__(self, limit=10_000):
        self.limit = limit
        self._last = {}
        self._lock = threading.Lock()

    def stamp(self, series, now_ms):
        with self._lock:
            ts = max(now_ms, self._last.pop(series, now_ms - 1) + 1)
            self._last[series] = ts  # re-inserted: the dict's order is least recently used first
            if len(self._last) > self.limit:
                del self._last[next(iter(self._last))]
            return ts
