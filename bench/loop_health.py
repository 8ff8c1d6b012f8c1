"""Loop health figures: CPU per loop per update (the bridge's own code, opcua_bridge/
loop_health.py, in this process, no I/O), and the share of one core that 200 loops take when
their PV, SP and OUT each change once a second and the figures are published every
health_interval_ms (the default, 10 s; payloads encoded as the bridge does). Projected on a
Raspberry Pi 4 with the assumption stated below."""

import math
import time

from bench.figures import report
from opcua_bridge.loop_health import HealthSettings, LoopHealth
from opcua_bridge.readings import payload
from service_common.opcua import nodes_file

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
    interval_s = nodes_file.HEALTH_INTERVAL_MS / 1000
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




# ---- the pictures of docs/loops.md, from a real run ------------------------------------------

COLOURS = {"PV": "#1f77b4", "SP": "#2ca02c", "OUT": "#ff7f0e", "error": "#d62728",
           "iae": "#9467bd", "osc_count": "#8c564b"}


def record(seconds=60.0):
    """{loop: {measurement: [(t s, value)]}} of the test server's five health loops through the
    real bridge and broker, with the settings tests/opcua/test_loop_health_e2e.py uses."""
    import json
    import sys
    import tempfile
    from pathlib import Path

    from devstack.mqtt_probe import Probe
    from devstack.paths import ROOT
    from devstack.servers import Mosquitto, OpcUaServer, Service
    from devstack.wait import wait_until
    from tests.opcua.test_loop_health_e2e import NODES

    with tempfile.TemporaryDirectory(prefix="loop-pictures-") as workdir, \
            Mosquitto() as broker, OpcUaServer(security="none") as server, \
            Probe(broker.host, broker.port, ["sensors/#"]) as probe:
        nodes = Path(workdir) / "nodes.yaml"
        nodes.write_text(NODES)
        with Service("opcua-bridge", [sys.executable, "-m", "opcua_bridge"], workdir=workdir,
                     env={"PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": server.endpoint,
                          "OPCUA_NODES": str(nodes), "OPCUA_LOG_LEVEL": "WARNING",
                          "OPCUA_HEARTBEAT": str(Path(workdir) / "heartbeat"),
                          "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port)}):
            started = time.monotonic()
            wait_until(lambda: time.monotonic() - started > seconds, seconds + 10, interval=0.5)
        data = {}
        for topic, body, _ in probe.received():
            _, loop, measurement = topic.split("/")
            reading = json.loads(body)
            data.setdefault(loop, {}).setdefault(measurement, []).append(
                (reading["ts"] / 1000.0, reading["value"]))
    return data


def svg(panels, width=900, panel_height=150, title=""):
    """An SVG of stacked line charts: panels = [(title, [(name, [(t, v)])], marks, hlines)]."""
    left, right, top, gap = 60, 110, 30, 40
    height = top + len(panels) * (panel_height + gap)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14" font-weight="bold">{title}</text>']
    times = [t for _, series, _, _ in panels for _, points in series for t, _ in points]
    t0, t1 = min(times), max(times)
    for row, (name, series, marks, hlines) in enumerate(panels):
        y0 = top + row * (panel_height + gap) + 15
        values = [v for _, points in series for _, v in points] + list(hlines)
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        pad = (high - low) * 0.08
        low, high = low - pad, high + pad

        def x(t):
            return left + (t - t0) / (t1 - t0) * (width - left - right)

        def y(v, y0=y0, low=low, high=high):
            return y0 + panel_height - (v - low) / (high - low) * panel_height

        out.append(f'<text x="{left}" y="{y0 - 4}" font-weight="bold">{name}</text>')
        out.append(f'<rect x="{left}" y="{y0}" width="{width - left - right}" '
                   f'height="{panel_height}" fill="none" stroke="#999"/>')
        for value in (low + pad, high - pad):
            out.append(f'<text x="{left - 5}" y="{y(value) + 4:.1f}" text-anchor="end">'
                       f'{value:.3g}</text>')
        for value in hlines:
            out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                       f'y2="{y(value):.1f}" stroke="#d62728" stroke-dasharray="5,4"/>')
        for t in marks:
            out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0}" '
                       f'y2="{y0 + panel_height}" stroke="#ff7f0e" stroke-opacity="0.6"/>')
        for i, (label, points) in enumerate(series):
            colour = COLOURS.get(label, ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b"][i % 5])
            steps = [p for a, b in zip(points, points[1:]) for p in (a, (b[0], a[1]))]
            steps += [points[-1], (t1, points[-1][1])] if points else []   # values hold
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in steps)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{path}"/>')
            out.append(f'<text x="{width - right + 8}" y="{y0 + 14 + 16 * i}" '
                       f'fill="{colour}">{label}</text>')
        out.append(f'<text x="{width - right}" y="{y0 + panel_height + 16}" text-anchor="end">'
                   f'{t1 - t0:.0f} s</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def pictures(folder):
    from pathlib import Path

    from tests.opcua.test_loop_health_server import MODES

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = record()
    loops = [mode.lower() for mode in MODES]
    modes = [(f"{loop}: PV, SP, OUT (%)",
              [(k.upper(), data[loop].get(k, [])) for k in ("pv", "sp", "out")], [], [])
             for loop in loops]
    (folder / "loops-modes.svg").write_text(svg(modes, title="The test server's five loops"))
    figures = [(f"{name} per loop", [(loop, data[loop].get(name, [])) for loop in loops], [],
                hline) for name, hline in (("iae", []), ("sat_pct", []), ("manual_pct", []),
                                           ("osc_count", [9.5]))]
    (folder / "loops-figures.svg").write_text(svg(figures, title="Their health figures "
                                                  "(window 40 s)"))
    marks = [t for t, _ in data["oscillating"].get("osc_mark", [])]
    osc = data["oscillating"]
    error = [(t, sp - pv) for (t, pv), (_, sp) in zip(osc["pv"], _held(osc["sp"], osc["pv"]))]
    oscillation = [("oscillating: error SP - PV (orange: oscillation marks)",
                    [("error", error)], marks, [0.0]),
                   ("oscillating: osc_count (red: the rule's 9.5)",
                    [("osc_count", osc.get("osc_count", []))], [], [9.5])]
    (folder / "loops-oscillation.svg").write_text(svg(oscillation, title="Hägglund's "
                                                      "detector on the oscillating loop"))
    return data


def _held(series, at):
    """`series` held (zero-order) at the times of `at`."""
    out, i = [], 0
    for t, _ in at:
        while i + 1 < len(series) and series[i + 1][0] <= t:
            i += 1
        out.append((t, series[i][1]))
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--pictures"]:
        pictures(sys.argv[2])
    else:
        main()
