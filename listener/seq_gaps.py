"""Readings that never arrived, from the `seq` each device puts in its readings (a board counts
every reading it publishes; an /ingest sender numbers its own). Per device: a `seq` more than one
past the last one seen counts the readings in between as missing (`seq_gaps`); a `seq` far
below the last one, or 0 or 1 (a board that restarted and counts again), or a jump of more than
MAX_GAP starts the count afresh (`seq_restarts`); a repeated or late `seq` (a redelivery) counts
nothing. Losses anywhere between a board and the listener then show in `listener_stats`."""

import threading

# A jump larger than this is a new counter, not this many lost readings: one device cannot make
# the total jump by more, whatever seq it sends.
MAX_GAP = 10_000
# A seq this far below the last one is a restarted counter; closer, a late or repeated reading.
LATE_WINDOW = 1_000
# Devices followed; beyond, new devices' seq are not followed (memory stays bounded; the devices
# already followed keep being counted, so nobody can push them out).
MAX_DEVICES = 100_000


class SeqGaps:
    def __init__(self, max_devices=MAX_DEVICES):
        self.max_devices = max_devices
        self._last = {}
        self._lock = threading.Lock()
        self._missing = {}  # device -> missing readings not yet written to listener_stats
        self.gaps = 0
        self.restarts = 0
        self.untracked = 0

    def see(self, device, seq):
        last = self._last.get(device)
        if last is None:
            if len(self._last) >= self.max_devices:
                self.untracked += 1
                return
            self._last[device] = seq
            return
        step = seq - last
        if step == 1:
            self._last[device] = seq
        elif 1 < step <= MAX_GAP + 1:
            self.gaps += step - 1
            with self._lock:  # the writer thread takes _missing
                self._missing[device] = self._missing.get(device, 0) + step - 1
            self._last[device] = seq
        elif step > MAX_GAP + 1 or (step < 0 and (seq <= 1 or step < -LATE_WINDOW)):
            self.restarts += 1
            self._last[device] = seq
        # else: a repeated or late reading (redelivered, or overtaken): nothing is missing

    def take_missing(self):
        """{device: readings found missing since the last take} (the caller writes them, or
        gives them back with `give_back` when the write failed)."""
        with self._lock:
            missing, self._missing = self._missing, {}
        return missing

    def give_back(self, missing):
        with self._lock:
            for device, count in missing.items():
                self._missing[device] = self._missing.get(device, 0) + count
