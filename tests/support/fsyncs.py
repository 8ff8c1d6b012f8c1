"""Which files and folders were fsynced, in order: for tests of what survives a power cut."""

import os
import stat


def record_fsyncs(monkeypatch):
    """A list that fills with (is a folder, inode) for each os.fsync from now on (the real
    fsync still runs)."""
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        status = os.fstat(descriptor)
        synced.append((stat.S_ISDIR(status.st_mode), status.st_ino))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced
