"""Loop health figures: CPU per loop per update (the bridge's own code, opcua_bridge/
loop_health.py, in this process, no I/O), and the share of one core that 200 loops take when
their PV, SP and OUT each change once a second and the figures are published every
health_interval_ms (the default, 10 s; payloads encoded as the bridge does). Projected on a
Raspberry Pi 4 with the assumption stated below."""

import math
import time

from bench.figures import report
from opcua_bridge import config
from opcua_bridge.loop_health import HealthSettings, LoopHealth
from opcua_bridge.readings import payload

LOOPS = 200
RATE_HZ = 1.0              # each of PV, SP, OUT changes this often
SECONDS = 600              # simulated time: one full default window
ROLES = ("pv", "sp", "out")
# Assumption: one Cortex-A72 core of a Raspberry Pi 4 (1.5 GHz) runs this Python code about
# 4 times slower than one core of this machine, and the figures may take at most 10 % of it.
PI_SLOWDOWN = 4.0
PI_BUDGET_PCT = 10.0


def simulate(loops, seconds, interval_s):
    """CPU seconds (process time) for `seconds` of simulated time; (updates, figure calls)."""
    health = [LoopHealth(HealthSettings(osc_period_s=20.0)) for _ in range(loops)]
    updates = calls = 0
    step = 1.0 / RATE_HZ
    next_figures = interval_s
    ticks = int(seconds * RATE_HZ)
    # The signals made beforehand: only the figures' code is timed.
    signals = [[(50.0 + 5.0 * math.sin(tick / 7.0 + i), 50.0 if (tick // 60) % 2 else 52.0,
                 40.0 + 3.0 * math.cos(tick / 7.0 + i)) for i in range(loops)]
               for tick in range(ticks)]
    started = time.process_time()
    for tick in range(ticks):
        t = 1_000_000.0 + tick * step
        for loop, (pv, sp, out) in zip(health, signals[tick]):
            loop.update("pv", pv, t)
            loop.update("sp", sp, t + 0.01)
            loop.update("out", out, t + 0.02)
            updates += 3
        if t - 1_000_000.0 >= next_figures:
            next_figures += interval_s
            for loop in health:
                for value in loop.figures(t).values():
                    payload(value, int(t * 1000))
                loop.take_marks()
                calls += 1
    return time.process_time() - started, updates, calls


def main():
    interval_s = config.HEALTH_INTERVAL_MS / 1000
    print(f"  {LOOPS} loops, PV, SP and OUT each changing every {1 / RATE_HZ:g} s, figures "
          f"every {interval_s:g} s, {SECONDS} s simulated (window {HealthSettings().window_s:g} "
          "s)")
    cpu, updates, calls = simulate(LOOPS, SECONDS, interval_s)
    per_update = cpu / (updates + calls) * 1e6
    share = cpu / SECONDS * 100
    report("CPU per update (one value of one loop, figures included)", per_update, "µs")
    report(f"share of one core here, {LOOPS} loops at {RATE_HZ:g} Hz", share, "%")
    pi = share * PI_SLOWDOWN
    report("projected share of one Raspberry Pi 4 core", pi, "%",
           f"<= {PI_BUDGET_PCT:g} %, a Pi core assumed {PI_SLOWDOWN:g}x slower")
    verdict = "fits" if pi <= PI_BUDGET_PCT else "does NOT fit"
    print(f"  {LOOPS} loops at {RATE_HZ:g} Hz {verdict} a Raspberry Pi 4's budget", flush=True)


if __name__ == "__main__":
    main()
