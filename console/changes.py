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
