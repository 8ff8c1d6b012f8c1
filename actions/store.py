"""The actions service's truth on disk: each output's operator mode, override and last commanded
value, in one JSON file replaced atomically (temp file, fsync, rename, fsync of the folder), so a
power cut leaves the old or the new file, never half of one."""

import json
import logging
from pathlib import Path

from service_common.files import remove_leftovers, replace_atomically

log = logging.getLogger(__name__)

FILE_NAME = "outputs.json"


class Store:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self._saved = None

    def load(self):
        """{output id: {"mode", "override", "commanded"}}; empty when there is no file yet."""
        remove_leftovers(self.path)
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            # Nothing to restore from: every output starts in auto, which the journal says.
            log.error("cannot read %s (%s): every output starts in auto", self.path, error)
            return {}
        if not isinstance(document, dict):
            return {}
        self._saved = document
        return {key: value for key, value in document.items() if isinstance(value, dict)}

    def save(self, outputs):
        """Write `outputs` when it differs from what is on disk; True when written."""
        if outputs == self._saved:
            return False
        replace_atomically(self.path, json.dumps(outputs, separators=(",", ":")))
        self._saved = outputs
        return True
