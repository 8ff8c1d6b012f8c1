"""Loop health figures of one PID loop, from its PV, SP, OUT (and mode) as they change: pure
code, no I/O, the time given by the caller. docs/loops.md explains each figure.

Between two updates every value holds (zero-order hold, as a PLC's tag does). Integrals go into
BUCKETS time buckets per window, so a loop keeps a bounded, small state whatever its update
rate; the oldest bucket is prorated at the window's edge (an error of at most one bucket's
share, 1/BUCKETS of the window, when values change within it).

Oscillation follows Hägglund (1995, "A control-loop performance monitor"): the error's zero
crossings cut it into half-cycles; a half-cycle whose IAE exceeds IAE_lim = a * Tu / pi
(a: the amplitude worth noticing, Tu: the loop's ultimate period) is a load disturbance. Many of
them within the window means the loop oscillates.
"""

import math
from collections import deque

from service_common.opcua.nodes_file import HealthSettings

FIGURES = ("error", "iae", "ise", "sat_pct", "osc_count", "osc_index", "travel", "manual_pct")
MARK = "osc_mark"   # one reading per load disturbance, at its zero crossing
BUCKETS = 120


class _Bucket:
    __slots__ = ("index", "error_s", "iae", "ise", "out_s", "sat_s", "mode_s", "manual_s",
                 "travel")

    def __init__(self, index):
        self.index = index
        self.error_s = self.iae = self.ise = 0.0
        self.out_s = self.sat_s = self.mode_s = self.manual_s = self.travel = 0.0


class LoopHealth:
    """`update(role, value, t)` for each new value (role: pv, sp, out or mode; t in seconds),
    `figures(now)` for the figures over the window that ends at `now`."""

    def __init__(self, settings=None):
        settings = self.settings = settings or HealthSettings()
        self.width = settings.window_s / BUCKETS
        self.values = {"pv": None, "sp": None, "out": None, "mode": None}
        self.t = None
        self.buckets = deque()
        self.sign = 0               # sign of the error in the current half-cycle
        self.half_iae = 0.0         # IAE of the current half-cycle, % of span x s
        self.cycles = deque()       # (end time, IAE) of each load disturbance
        self.marks = deque(maxlen=BUCKETS)   # (end time, IAE / IAE_lim) not taken yet

    @property
    def error(self):
        pv, sp = self.values["pv"], self.values["sp"]
        return None if pv is None or sp is None else sp - pv

    def update(self, role, value, t):
        """A new value (None: unknown from now on, e.g. bad quality or a lost session)."""
        self.advance(t)
        if role == "out" and self.values["out"] is not None and value is not None:
            self._bucket(math.floor(self.t / self.width)).travel += abs(value - self.values["out"])
        self.values[role] = value
        if role in ("pv", "sp"):
            self._crossing(self.t)

    def forget(self, t):
        """Every value unknown from `t` on (the session was lost): nothing is held meanwhile."""
        for role in self.values:
            self.update(role, None, t)

    def advance(self, t):
        """Integrate the held values up to `t` (an earlier `t` adds nothing)."""
        if self.t is None:
            self.t = t
            return
        if t <= self.t:
            return
        start, self.t = self.t, t
        error = self.error
        s = self.settings
        if error is not None:
            self.half_iae += abs(error) * 100.0 / s.span * (t - start)
        start = max(start, t - s.window_s)   # older time falls out of the window anyway
        out, mode = self.values["out"], self.values["mode"]
        while start < t:
            index = math.floor(start / self.width)
            if (index + 1) * self.width <= start:   # rounding at a bucket's edge
                index += 1
            bucket = self._bucket(index)
            end = min(t, (index + 1) * self.width)
            dt = end - start
            if error is not None:
                e = error * 100.0 / s.span
                bucket.error_s += dt
                bucket.iae += abs(e) * dt
                bucket.ise += e * e * dt
            if out is not None:
                bucket.out_s += dt
                if out <= s.out_low or out >= s.out_high:
                    bucket.sat_s += dt
            if mode is not None:
                bucket.mode_s += dt
                if mode == s.manual_value:
                    bucket.manual_s += dt
            start = end

    def _bucket(self, index):
        if not self.buckets or self.buckets[-1].index < index:
            self.buckets.append(_Bucket(index))
            while len(self.buckets) > BUCKETS + 2:
                self.buckets.popleft()
        return self.buckets[-1]

    def _crossing(self, t):
        error = self.error
        if error is None or error == 0:
            return
        sign = 1 if error > 0 else -1
        if sign != self.sign:
            if self.sign != 0 and self.half_iae > self.settings.iae_limit:
                self.cycles.append((t, self.half_iae))
                self.marks.append((t, self.half_iae / self.settings.iae_limit))
            self.sign, self.half_iae = sign, 0.0

    def take_marks(self):
        """[(time, IAE / IAE_lim)] of each load disturbance since the last call: the
        oscillation marks (`osc_mark` readings, the drill-down's annotations)."""
        marks = list(self.marks)
        self.marks.clear()
        return marks

    def figures(self, now):
        """{figure: value} over the window ending at `now`; a figure without data is left out
        (no SP: no error figures; no OUT: no saturation or travel; no mode tag: no manual)."""
        self.advance(now)
        start = now - self.settings.window_s
        totals = dict.fromkeys(_Bucket.__slots__[1:], 0.0)
        for bucket in self.buckets:
            begin = bucket.index * self.width
            end = begin + self.width
            if end <= start:
                continue
            share = min(1.0, (end - start) / self.width)
            for name in totals:
                totals[name] += getattr(bucket, name) * share
        while self.cycles and self.cycles[0][0] <= start:
            self.cycles.popleft()
        result = {}
        if self.error is not None:
            result["error"] = self.error
        if totals["error_s"] > 0:
            result["iae"] = totals["iae"]
            result["ise"] = totals["ise"]
            limit = self.settings.iae_limit
            result["osc_count"] = float(len(self.cycles))
            result["osc_index"] = (sum(iae for _, iae in self.cycles) / len(self.cycles) / limit
                                   if self.cycles else 0.0)
        if totals["out_s"] > 0:
            result["sat_pct"] = 100.0 * totals["sat_s"] / totals["out_s"]
            result["travel"] = totals["travel"]
        if totals["mode_s"] > 0:
            result["manual_pct"] = 100.0 * totals["manual_s"] / totals["mode_s"]
        return result
