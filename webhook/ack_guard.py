"""Limits on the boards' acknowledgements, so that a flood from one identity never starves the
publishes that `/alert` waits for (they share the webhook's one MQTT connection). Pure: the clock
is given.

- Per sender, a token bucket: SENDER_BURST presses at once, then one every SENDER_INTERVAL_S;
  beyond, dropped (counted `ack_rate_limited`).
- All boards together: more than FLOOD_PER_S messages within one second is a flood; the webhook
  then unsubscribes from the boards' ack topics for FLOOD_PAUSE_S (counted `ack_flood_paused`),
  so the broker stops sending them. The console's topics stay subscribed.
"""

SENDER_BURST = 5
SENDER_INTERVAL_S = 1.0
# A button press is rare; a whole shift of operators stays far below this.
FLOOD_PER_S = 50
FLOOD_PAUSE_S = 10.0
# Senders remembered at most (the buckets of the quiet ones are refilled anyway).
MAX_SENDERS = 1000


class AckGuard:
    def __init__(self, burst=SENDER_BURST, interval=SENDER_INTERVAL_S, flood_per_s=FLOOD_PER_S):
        self.burst, self.interval, self.flood_per_s = burst, interval, flood_per_s
        self._buckets = {}  # sender -> (tokens, time of the last refill)
        self._window_start = None
        self._window_count = 0

    def flooded(self, now):
        """Count one message from the boards at `now` (s); True when it makes a flood."""
        if self._window_start is None or now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > self.flood_per_s

    def reset_flood(self):
        self._window_start, self._window_count = None, 0

    def allow(self, sender, now):
        """Whether a press from `sender` at `now` (s) is within its rate."""
        tokens, last = self._buckets.get(sender, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) / self.interval)
        if tokens < 1.0:
            self._buckets[sender] = (tokens, now)
            return False
        if sender not in self._buckets and len(self._buckets) >= MAX_SENDERS:
            self._buckets.clear()
        self._buckets[sender] = (tokens - 1.0, now)
        return True
