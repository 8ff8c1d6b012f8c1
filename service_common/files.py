"""Replacing a file so that a power cut leaves either the old or the new one, whole."""

import os
import tempfile
from pathlib import Path


def replace_atomically(path, text, mode=0o600):
    """Write `text` to `path` through a temporary file in the same folder: written, fsynced,
    renamed over `path`, then the folder fsynced so the rename itself is on disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
