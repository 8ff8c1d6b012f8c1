"""Collects encoded lines and the message ids to acknowledge into batches.

`add()` runs on paho's network thread and only appends; a batch is handed to the writer's
queue when it reaches the size limit or holds `max_unacked` unacknowledged QoS 1 messages (the
broker sends no more than its max_inflight_messages until some are acknowledged, so waiting for
the flush interval would cap QoS 1 throughput). The writer calls `flush_due()` for the rest, at
`due_at()`: `flush_interval` after a batch's first reading, or `qos1_flush_interval` after its
first QoS 1 message (the broker has acknowledged that one to its sender: the shorter interval
bounds what a power cut of the whole machine can take before it is stored).
"""

import threading
import time
from typing import NamedTuple


class Batch(NamedTuple):
    lines: list[str]
    acks: list[int]          # QoS 1 message ids, in the order they were received
    received_at: float       # time.monotonic() of the first message

    def data(self):
        return ("\n".join(self.lines) + "\n").encode() if self.lines else b""


class Batcher:
    def __init__(self, batch_size, flush_interval, max_unacked, hand_off, max_held_points,
                 qos1_flush_interval=None, on_start=None):
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.qos1_flush_interval = min(flush_interval, qos1_flush_interval or flush_interval)
        self._on_start = on_start  # called when a batch opens: its deadline is new
        self.max_unacked = max_unacked
        # A full window of unacknowledged messages stalls the broker: flush it after this
        # much silence even if max_unacked is larger than the broker's window.
        self.stall_after = min(flush_interval, 0.05)
        self.max_held_points = max_held_points
        self._hand_off = hand_off
        self._lock = threading.Lock()
        self._lines = []
        self._acks = []
        self._started = 0.0
        self._due = 0.0              # when the open batch must be handed off
        self._last_add = 0.0
        self._handed_points = 0      # written under the lock
        self._finished_points = 0    # written by the writer thread only

    @property
    def held_points(self):
        """Points handed to the writer and not yet stored or spooled."""
        return self._handed_points - self._finished_points

    def finished(self, points):
        """The writer stored or spooled `points` of the handed-off batches."""
        self._finished_points += points

    def overloaded(self):
        return self.held_points >= self.max_held_points

    def add(self, line, mid=0, qos=0):
        """Queue one encoded line (None for a rejected message that still needs its ack)."""
        with self._lock:
            opened = not self._lines and not self._acks
            if opened or qos:  # the clock only where a deadline needs it
                now = time.monotonic()
            if opened:
                self._started = now
                self._due = now + self.flush_interval
            if line is not None:
                self._lines.append(line)
            if qos:
                if not self._acks:
                    self._due = min(self._due, now + self.qos1_flush_interval)
                self._last_add = now
                self._acks.append(mid)
            if len(self._lines) >= self.batch_size or len(self._acks) >= self.max_unacked:
                self._hand_off(self._swap())  # under the lock, so batches queue in order
            elif opened and self._on_start is not None:
                self._on_start()

    def due_at(self):
        """time.monotonic() at which the open batch is due, None when there is none."""
        with self._lock:
            if not self._lines and not self._acks:
                return None
            if self._acks:
                return min(self._due, self._last_add + self.stall_after)
            return self._due

    def flush_due(self, now=None, force=False):
        """Hand off the current batch if it is old enough, stalled on acks, or `force`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self._lines and not self._acks:
                return False
            due = (force or now >= self._due
                   or (self._acks and now - self._last_add >= self.stall_after))
            if due:
                self._hand_off(self._swap())
            return bool(due)

    def _swap(self):
        batch = Batch(self._lines, self._acks, self._started)
        self._lines, self._acks = [], []
        self._handed_points += len(batch.lines)
        return batch
