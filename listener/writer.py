"""The writer thread: makes every batch durable, in order, then acknowledges its messages.

A batch goes to InfluxDB while the spool is empty and InfluxDB answers; otherwise it is
appended to the spool, which is drained in order once InfluxDB is back. Either way its QoS 1
messages are acknowledged only afterwards. When the spool is full, batches wait in memory
unacknowledged (the broker holds back further QoS 1 messages) and the batcher reports an
overload, so new QoS 0 readings are refused and counted rather than filling the memory.
"""

import logging
import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import NamedTuple

from listener.store import DatabaseMissing, NotAuthorized
from listener.store import StoreError as InfluxError

log = logging.getLogger(__name__)


class WriterSettings(NamedTuple):
    """What the writer uses of the listener's settings (`from_settings`)."""

    client_id: str            # tag of its listener_stats lines
    stats_interval: float
    heartbeat_path: Path
    database: str             # for its messages
    username: str | None
    schema: tuple | None      # prepare()'s (retention, downsample retention, interval), or None
                              # when the store manages its own (LISTENER_STORE_SETUP=false)

    @classmethod
    def from_settings(cls, settings):
        schema = (settings.retention, settings.downsample_retention,
                  settings.downsample_interval) if settings.store_setup else None
        return cls(settings.mqtt.client_id, settings.stats_interval, settings.heartbeat_path,
                   settings.influx.database, settings.influx.username, schema)

TICK = 0.02            # how often the thread looks again while batches wait for InfluxDB
IDLE_MAX = 1.0         # longest sleep when nothing is due (the heartbeat's period)
RETRY_MIN = 0.5        # back-off between InfluxDB attempts, doubled up to RETRY_MAX
RETRY_MAX = 8.0
HEARTBEAT_EVERY = 1.0
DRAIN_SEGMENTS_PER_TURN = 20


class Writer:
    def __init__(self, settings, influx, spool, batcher, stats, ack, is_connected,
                 clock=time.monotonic):
        """`settings`: a WriterSettings; `influx`: the store (listener.store.Store);
        `ack(mids)` acknowledges a finished batch's QoS 1 messages, in order."""
        self.settings = settings
        self.influx = influx
        self.spool = spool
        self.batcher = batcher
        self.stats = stats
        self._ack = ack
        self._is_connected = is_connected
        self._clock = clock
        self.queue = queue.SimpleQueue()
        self.pending = deque()        # (batch, data) not yet durable, oldest first
        self.ready = False            # schema set up (or not ours to set up)
        self._retry_at = 0.0
        self._delay = RETRY_MIN
        self._failing = None          # the class of the last InfluxDB failure, None when fine
        self._spool_full_logged = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener-writer", daemon=True)

    def hand_off(self, batch):
        self.queue.put(batch)

    def wake(self):
        """A batch opened: look at its deadline (the thread sleeps until something is due)."""
        self.queue.put(None)

    def start(self):
        self._thread.start()

    def stop(self, timeout=30):
        """Store or spool everything held, acknowledge it, and end the thread."""
        self._stop.set()
        self.wake()
        self._thread.join(timeout)

    def step(self, flush_now=False):
        """One turn of the thread: take the handed-off batches, then make them durable."""
        self._take_batches(flush_now)
        self._make_durable()

    def store_received_after_stop(self):
        """Once the client has stopped: store or spool what arrived during the final flush.

        paho delivers messages until it disconnects; QoS 0 ones would be lost otherwise. The
        acknowledgements of late QoS 1 ones cannot be sent, so the broker redelivers them.
        """
        self._take_batches(flush_now=True)
        self._store_pending()

    @property
    def alive(self):
        return self._thread.is_alive()

    def _run(self):
        now = self._clock()
        next_stats = now + self.settings.stats_interval
        next_beat = now
        while not self._stop.is_set():
            try:
                self._hold(self.queue.get(timeout=self._sleep(min(next_stats, next_beat))))
            except queue.Empty:
                pass
            try:
                self.step()
                now = self._clock()
                if now >= next_stats:
                    next_stats = now + self.settings.stats_interval
                    self._write_stats()
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_EVERY
                    self._heartbeat()
            except Exception:  # noqa: BLE001 - a bug must not stop the thread that stores data
                log.exception("writer error; continuing")
                time.sleep(RETRY_MIN)
        try:
            self.step(flush_now=True)
            self._write_stats()
            self.settings.heartbeat_path.unlink(missing_ok=True)
        except Exception:  # noqa: BLE001 - report, then say what could not be saved
            log.exception("writer error while stopping")
        if self.pending:
            lost = sum(len(b.lines) for b, _ in self.pending)
            log.warning("stopping with %d readings neither stored nor spooled (spool full and "
                        "InfluxDB unavailable): QoS 1 ones stay unacknowledged for redelivery",
                        lost)

    def _sleep(self, next_own):
        """Seconds until the next thing to do: a batch due, a retry, stats or the heartbeat.
        Sleeping instead of polling keeps an idle or slow stream from costing CPU."""
        if self.pending or len(self.spool) or not self.ready:
            return TICK
        now = self._clock()
        wait = min(next_own - now, IDLE_MAX)
        due = self.batcher.due_at()
        if due is not None:
            wait = min(wait, due - time.monotonic())
        return max(wait, 0.001)

    def _hold(self, batch):
        if batch is not None:  # None only wakes the thread up
            self.pending.append((batch, batch.data()))

    def _take_batches(self, flush_now=False):
        self.batcher.flush_due(force=flush_now)  # queues behind the batches already handed off
        while True:
            try:
                batch = self.queue.get_nowait()
            except queue.Empty:
                break
            self._hold(batch)

    def _make_durable(self):
        if not self.ready and self.settings.schema is None:
            self.ready = True  # the store manages its own databases (LISTENER_STORE_SETUP)
        if not self.ready and self._may_try():
            self._setup()
        if len(self.spool) and self.ready and self._may_try():
            self._drain()
        self._store_pending()
        self._update_gauges()

    def _may_try(self):
        return self._clock() >= self._retry_at

    def _setup(self):
        settings = self.settings
        try:
            self.influx.prepare(*settings.schema)
            log.info("database %r ready", settings.database)
            self.ready = True
        except NotAuthorized as error:
            if self.influx.exists():
                log.warning("InfluxDB user %r may not create databases, retention policies or "
                            "continuous queries; using database %r as it is (run `python -m "
                            "listener --setup` as an admin to create them): %s",
                            settings.username, settings.database, error)
                self.ready = True
            else:
                self._failed(NotAuthorized(
                    f"database {settings.database!r} is missing or not visible to user "
                    f"{settings.username!r}, who may not create it: {error}"))
        except InfluxError as error:
            self._failed(error)

    def _drain(self):
        # A few segments per turn, so that new batches keep being spooled and acknowledged.
        for _ in range(DRAIN_SEGMENTS_PER_TURN):
            if not len(self.spool):
                log.info("spool drained")
                return
            data, points, written_at = self.spool.head()
            try:
                refused = self.influx.write(data, points)
            except InfluxError as error:
                self._failed(error)
                return
            self.spool.pop()
            self._stored(points, refused, (time.time() - written_at) * 1000)

    def _store_pending(self):
        while self.pending:
            batch, data = self.pending[0]
            points = len(batch.lines)
            if points and not len(self.spool) and self.ready and self._may_try():
                try:
                    refused = self.influx.write(data, points)
                except InfluxError as error:
                    self._failed(error)
                else:
                    self._stored(points, refused, (self._clock() - batch.received_at) * 1000)
                    self._finish(batch)
                    continue
            if points and not self._spool(data, points):
                return
            self._finish(batch)

    def _spool(self, data, points):
        try:
            appended = self.spool.append(data, points)
        except OSError as error:
            log.error("cannot write the spool in %s: %s", self.spool.folder, error)
            appended = False
        if appended:
            self.stats.spooled += points
            self._spool_full_logged = False
        elif not self._spool_full_logged:
            self._spool_full_logged = True
            log.error("spool full (%d bytes): holding readings unacknowledged until InfluxDB "
                      "is back", self.spool.bytes)
        return appended

    def _finish(self, batch):
        log.debug("batch of %d lines, %d acks done", len(batch.lines), len(batch.acks))
        self.pending.popleft()
        if batch.acks:
            self._ack(batch.acks)
        self.batcher.finished(len(batch.lines))

    def _stored(self, points, refused, lag_ms):
        self.stats.stored += points - refused
        self.stats.influx_rejected += refused
        self.stats.lag_ms = lag_ms
        if self._failing:
            log.info("InfluxDB is back")
        self._failing = None
        self._delay = RETRY_MIN

    def _failed(self, error):
        """Count an InfluxError, say it once per kind, and back off before the next attempt."""
        self.stats.retries += 1
        if isinstance(error, DatabaseMissing):
            self.ready = False  # dropped while we were running: set it up again
        if isinstance(error, NotAuthorized):
            self.stats.not_authorized += 1
        if type(error) is not self._failing:
            if isinstance(error, NotAuthorized):
                log.error("InfluxDB refuses user %r (not authorized): check INFLUXDB_USERNAME, "
                          "INFLUXDB_PASSWORD and the user's WRITE privilege on database %r; "
                          "holding the readings and retrying every %g s at most: %s",
                          self.settings.username, self.settings.database,
                          RETRY_MAX, error)
            else:
                log.warning("InfluxDB unavailable, spooling and retrying with back-off: %s",
                            error)
        self._failing = type(error)
        self._retry_at = self._clock() + self._delay
        self._delay = min(self._delay * 2, RETRY_MAX)

    def _update_gauges(self):
        self.stats.spool_bytes = self.spool.bytes
        self.stats.spool_points = self.spool.points
        self.stats.pending_points = self.batcher.held_points

    def _write_stats(self):
        self.stats.log_rejections(self.settings.stats_interval)
        self._update_gauges()
        if not (self.ready and not self._failing and self._may_try()):
            return
        client_id, now = self.settings.client_id, time.time_ns()
        missing = self.stats.seq.take_missing()
        encode = self.influx.encoder.fields  # the store's encoder
        lines = [self.stats.line(client_id, now, encode),
                 *self.stats.missing_lines(client_id, missing, now, encode)]
        try:
            self.influx.write(("\n".join(lines) + "\n").encode(), len(lines))
        except InfluxError as error:
            self.stats.seq.give_back(missing)
            self._failed(error)

    def _heartbeat(self):
        if self._is_connected():
            try:
                self.settings.heartbeat_path.touch()
            except OSError as error:
                log.warning("cannot write the heartbeat file: %s", error)
