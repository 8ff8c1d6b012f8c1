"""The webhook's truth on disk: its state document in one file, replaced atomically and fsynced
(temporary file, fsync, rename, fsync of the folder), so that after a power cut the file holds
either the old document or the new one, never a mix and never nothing."""

from pathlib import Path

from service_common.files import remove_leftovers, replace_atomically

FILE_NAME = "state.json"


class StateFileError(OSError):
    """The state folder cannot be created, read or written (answered 503 on a request)."""


class StateFile:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME

    def load(self):
        """The saved document (bytes), or None when nothing was saved yet. A temporary file
        that a power cut left half-written is ignored and removed."""
        try:
            remove_leftovers(self.path)
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"cannot read {self.path} (WEBHOOK_STATE_DIR): {error}") from None

    def save(self, data):
        """Replace the document with `data`; returns once it is on the disk."""
        try:
            replace_atomically(self.path, data)
        except OSError as error:
            raise StateFileError(f"cannot save {self.path} (WEBHOOK_STATE_DIR): {error}") from None
