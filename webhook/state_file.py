"""The webhook's truth on disk: its state document in one file, replaced atomically and fsynced
(temporary file, fsync, rename, fsync of the folder), so that after a power cut the file holds
either the old document or the new one, never a mix and never nothing."""

import os
from pathlib import Path

FILE_NAME = "state.json"


class StateFileError(OSError):
    """The state folder cannot be created, read or written (answered 503 on a request)."""


class StateFile:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self._temp = self.folder / (FILE_NAME + ".tmp")

    def load(self):
        """The saved document (bytes), or None when nothing was saved yet."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"cannot read {self.path} (WEBHOOK_STATE_DIR): {error}") from None

    def save(self, data):
        """Replace the document with `data`; returns once it is on the disk."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self._temp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(self._temp, self.path)
            folder = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as error:
            raise StateFileError(f"cannot save {self.path} (WEBHOOK_STATE_DIR): {error}") from None
