"""Shared helpers for the benchmarks: percentiles and one printed line per figure."""

import statistics
import time

from devstack.grafana_standin.notify import example_notifications
from devstack.grafana_standin.rules import load_rules
from devstack.loop import ALERT, ROOT


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(name, value, unit, target=None):
    goal = f"   (target {target})" if target else ""
    print(f"  {name:<44} {value:>10.2f} {unit}{goal}", flush=True)


def report_latencies(name, seconds, target_p99_ms=None):
    ms = [s * 1000 for s in seconds]
    report(f"{name} p50", percentile(ms, 0.50), "ms")
    report(f"{name} p99", percentile(ms, 0.99), "ms",
           f"<= {target_p99_ms} ms" if target_p99_ms else None)
    report(f"{name} mean", statistics.fmean(ms), "ms")


class LineFollower:
    """Reads lines appended to a file (a process's log) as they arrive, with their arrival time."""

    def __init__(self, path):
        self.file = open(path, errors="replace")  # noqa: SIM115
        self.file.seek(0, 2)

    def wait_for(self, wanted, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.file.readline()
            if not line:
                time.sleep(0.0002)
                continue
            if line.strip() == wanted:
                return time.perf_counter()
        raise TimeoutError(f"no {wanted!r} line within {timeout} s")

    def close(self):
        self.file.close()


def grafana_bodies(device="bench01"):
    """Grafana's unified webhook bodies, firing and resolved, for the provisioned pot rule."""
    rules = load_rules(ROOT / "grafana" / "provisioning" / "alerting")
    return example_notifications(next(r for r in rules if r.uid == ALERT), device)
