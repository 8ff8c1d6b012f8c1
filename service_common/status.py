"""Liveness of a service from its `status/<client id>` topic.

A service publishes `online` retained at QoS 1 when it connects, and again every
HEARTBEAT_S seconds as a heartbeat; its Last Will (and a clean stop) publish `offline`.
A retained copy can be stale: after a power cut the broker reloads `online` from its snapshot
although nobody is there. So a follower trusts only a live `online` (one delivered to it while it
was already subscribed: MQTT's retain flag 0) and counts the service gone when no live `online`
came within LIVE_WINDOW_S. Boards, whose MQTT library hides the retain flag, do the same by
ignoring the first message after each subscribe (docs/topics.md).
"""

import time

HEARTBEAT_S = 5.0
LIVE_WINDOW_S = 15.0
ONLINE = b"online"
OFFLINE = b"offline"


class Liveness:
    """Whether a followed service is live, from its status messages; pure apart from the clock."""

    def __init__(self, window_s=LIVE_WINDOW_S, clock=time.monotonic):
        self.window_s = window_s
        self._clock = clock
        self._last_live = None
        self._offline = False

    def seen(self, payload, retained):
        """A message on the service's status topic."""
        if payload == ONLINE and not retained:
            self._last_live, self._offline = self._clock(), False
        elif payload != ONLINE:
            self._last_live, self._offline = None, True

    def live(self):
        return (self._last_live is not None
                and self._clock() - self._last_live <= self.window_s)

    def reset(self):
        """Forget what was seen (call when the connection to the broker is lost)."""
        self._last_live, self._offline = None, False
