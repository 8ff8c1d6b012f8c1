"""Replacing a file so that a power cut leaves either the old or the new one, whole."""

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".tmp"  # what a temporary file left by a power cut ends with


def replace_atomically(path, data, mode=0o600, keep_owner_and_mode=False):
    """Write `data` (text, written as UTF-8, or bytes) to `path` through a temporary file in the
    same folder: written, fsynced, renamed over `path`, then the folder fsynced so the rename
    itself is on disk. The new file gets `mode`; with `keep_owner_and_mode`, a file that is
    replaced passes on its mode and, as far as this user may give it, its owner and group."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = _stat_or_none(path) if keep_owner_and_mode else None
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-",
                                     suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data.encode() if isinstance(data, str) else data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, old.st_mode & 0o777 if old else mode)
        if old:
            _give_owner(temporary, old)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def remove_leftovers(path):
    """Delete the temporary files a power cut left while `path` was being replaced (a warning
    when one cannot be: it is never read, only takes room)."""
    path = Path(path)
    for leftover in path.parent.glob(f".{path.name}-*{TEMPORARY_SUFFIX}"):
        try:
            leftover.unlink(missing_ok=True)
        except OSError as error:
            log.warning("cannot remove %s, left by an interrupted write: %s", leftover, error)


def _stat_or_none(path):
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _give_owner(path, old):
    try:
        os.chown(path, old.st_uid, old.st_gid)
    except PermissionError:
        try:
            os.chown(path, -1, old.st_gid)
        except PermissionError:
            log.warning("%s now belongs to this user, not to uid %d gid %d", path, old.st_uid,
                        old.st_gid)
