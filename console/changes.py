"""A version number that pages wait on: the MQTT thread bumps it, each open page's live stream
wakes, renders only when something it shows changed, and waits again."""

import threading


class Changes:
    def __init__(self):
        self._condition = threading.Condition()
        self.version = 0

    def bump(self):
        with self._condition:
            self.version += 1
            self._condition.notify_all()

    def wait(self, seen, timeout):
        """The version once it differs from `seen`, or after `timeout` s whatever it is."""
        with self._condition:
            self._condition.wait_for(lambda: self.version != seen, timeout)
            return self.version


class Board:
    """What the boards fed by retained topics share: a lock, their Changes and a count of the
    messages they could not read. `put` stores or (with None) forgets one entry of a table."""

    def __init__(self):
        self._lock = threading.Lock()
        self.changes = Changes()
        self.bad_messages = 0

    @property
    def version(self):
        return self.changes.version

    def bad(self):
        with self._lock:
            self.bad_messages += 1
        return False

    def put(self, table, key, item):
        """True when the table changed (and the board's pages were woken)."""
        with self._lock:
            if item is None:
                if table.pop(key, None) is None:
                    return False
            elif table.get(key) == item:
                return False
            else:
                table[key] = item
            self.changes.bump()
            return True
