"""A durable on-disk FIFO of line-protocol batches, bounded in bytes.

Each batch is one segment file, written to a temporary name, fsynced, then renamed, and the
folder fsynced: after `append()` returns True the batch survives a crash or power cut, and a
half-written segment is never mistaken for a whole one.
"""

import logging
import re
from collections import deque
from pathlib import Path

from service_common.files import TEMPORARY_SUFFIX, replace_atomically

log = logging.getLogger(__name__)

SUFFIX = ".lp"
_SEGMENT_NAME = re.compile(r"[0-9]+")  # what append() names a segment, before SUFFIX


class Spool:
    def __init__(self, folder, max_bytes):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._segments = deque()  # (path, size, points), oldest first
        self.bytes = 0
        self.points = 0
        self._next = 1

    def open(self):
        """Create the folder, drop half-written segments, load the ones a previous run left."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(f"*{TEMPORARY_SUFFIX}"):
            leftover.unlink()
        foreign = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            if not _SEGMENT_NAME.fullmatch(path.stem) or not path.is_file():
                foreign.append(path.name)
                continue
            data = path.read_bytes()
            self._track(path, len(data), data.count(b"\n"))
            self._next = max(self._next, int(path.stem) + 1)
        if foreign:
            log.warning("spool folder %s: skipped %s, not named like a spool batch "
                        "(<number>%s); left as it is", self.folder, ", ".join(foreign), SUFFIX)
        if self._segments:
            log.info("spool holds %d points in %d batches from a previous run",
                     self.points, len(self._segments))
        return self

    def __len__(self):
        return len(self._segments)

    def fits(self, size):
        return self.bytes + size <= self.max_bytes

    def append(self, data, points):
        """Store one batch durably; False (and nothing written) when it would exceed the limit."""
        if not self.fits(len(data)):
            return False
        path = self.folder / f"{self._next:016d}{SUFFIX}"
        replace_atomically(path, data)
        self._next += 1
        self._track(path, len(data), points)
        return True

    def head(self):
        """(data, points, written at as epoch seconds) of the oldest batch, or None."""
        if not self._segments:
            return None
        path, _, points = self._segments[0]
        return path.read_bytes(), points, path.stat().st_mtime

    def pop(self):
        path, size, points = self._segments.popleft()
        path.unlink(missing_ok=True)
        self.bytes -= size
        self.points -= points

    def _track(self, path, size, points):
        self._segments.append((path, size, points))
        self.bytes += size
        self.points += points
