"""Loop health on the real OPC UA test server: its five loops (well tuned, oscillating,
sluggish, saturated, in manual) through the real bridge and broker. Each figure the bridge
publishes is compared with a reference computed here, independently, from the PV/SP/OUT/MANUAL
readings the bridge published (their source timestamps), over the same window.

Tolerances (the bridge integrates at arrival times in buckets of 1/120 of the window; the
reference at the server's timestamps on a 10 ms grid): IAE, ISE and travel within 12 % + 2;
saturated and manual time within 5 points; error within 2 (% of span); oscillation count
within 1 half-cycle and its index within 20 %."""

import math

from devstack.wait import wait_until
from opcua_bridge.loop_health import HealthSettings
from tests.support.opcua import PLANT

WINDOW_S = 20.0
SETTINGS = HealthSettings(window_s=WINDOW_S, osc_amplitude_pct=1.0, osc_period_s=4.0)
MODES = ("Tuned", "Oscillating", "Sluggish", "Saturated", "Manual")


def nodes_yaml():
    loops = "\n".join(
        f'  - {{id: {mode.lower()}, pv: "{PLANT}{mode}.PV", sp: "{PLANT}{mode}.SP", '
        f'out: "{PLANT}{mode}.OUT", mode: "{PLANT}{mode}.MANUAL", window_s: {WINDOW_S:g}, '
        f"osc_amplitude_pct: {SETTINGS.osc_amplitude_pct:g}, "
        f"osc_period_s: {SETTINGS.osc_period_s:g}}}" for mode in MODES)
    return f"""publishing_interval_ms: 100
sampling_interval_ms: 50
health_interval_ms: 500
loops:
{loops}
"""


def step_function(readings):
    """[(t s, value)] sorted by time."""
    return sorted((r["ts"] / 1000.0, r["value"]) for r in readings)


def held(series, t):
    """The value of a zero-order-hold series at t (None before its first reading)."""
    value = None
    for when, v in series:
        if when > t:
            break
        value = v
    return value


def reference(signals, end, settings=SETTINGS, grid=0.01):
    """The figures over [end - window, end], computed on a fine grid from the readings."""
    pv, sp, out, mode = (signals[k] for k in ("pv", "sp", "out", "mode"))
    start = end - settings.window_s
    first = min(s[0][0] for s in (pv, sp))
    iae = ise = sat = manual = covered = 0.0
    half, sign, cycles = 0.0, 0, []
    indexes = {k: 0 for k in signals}

    def at(key, t):
        series = signals[key]
        i = indexes[key]
        while i + 1 < len(series) and series[i + 1][0] <= t:
            i += 1
        indexes[key] = i
        return series[i][1] if series and series[0][0] <= t else None

    t = first
    while t < end:
        p, s, o, m = at("pv", t), at("sp", t), at("out", t), at("mode", t)
        if p is not None and s is not None:
            e = 100.0 * (s - p) / settings.span
            half += abs(e) * grid
            new_sign = (e > 0) - (e < 0)
            if new_sign and new_sign != sign:
                if sign and half - abs(e) * grid > settings.iae_limit:
                    cycles.append((t, half - abs(e) * grid))
                sign, half = new_sign, abs(e) * grid
            if t >= start:
                iae += abs(e) * grid
                ise += e * e * grid
        if t >= start:
            covered += grid
            sat += grid if o is not None and (o <= settings.out_low or o >= settings.out_high) \
                else 0.0
            manual += grid if m == settings.manual_value else 0.0
        t += grid
    outs = [v for when, v in out if when <= end]
    in_window = [v for when, v in out if start < when <= end]
    before = [v for when, v in out if when <= start][-1:]
    moves = before + in_window
    counted = [iae_i for when, iae_i in cycles if when > start]
    return {
        "error": held(sp, end) - held(pv, end),
        "iae": iae, "ise": ise, "sat_pct": 100.0 * sat / covered,
        "manual_pct": 100.0 * manual / covered,
        "travel": sum(abs(b - a) for a, b in zip(moves, moves[1:])),
        "osc_count": float(len(counted)),
        "osc_index": sum(counted) / len(counted) / settings.iae_limit if counted else 0.0,
        "_outs": len(outs),
    }


def close(figure, got, expected):
    if figure in ("iae", "ise", "travel"):
        return abs(got - expected) <= 0.12 * abs(expected) + 2.0
    if figure in ("sat_pct", "manual_pct"):
        return abs(got - expected) <= 5.0
    if figure == "error":
        return abs(got - expected) <= 2.0
    if figure == "osc_count":
        return abs(got - expected) <= 1.0
    if figure == "osc_index":
        return abs(got - expected) <= 0.2 * expected + 0.5
    raise AssertionError(figure)


def test_each_loop_gives_its_figures(opcua_server, bridge_factory):
    bridge = bridge_factory(opcua_server, nodes_yaml())
    loops = [mode.lower() for mode in MODES]

    def window_full():
        """Every loop's last figures cover a window that began after its first figures (by
        then the bridge had every node's first value: a value the server set long before can
        carry an old source timestamp)."""
        for loop in loops:
            iae = bridge.readings(f"sensors/{loop}/iae")
            if not iae or iae[-1]["ts"] / 1000.0 < iae[0]["ts"] / 1000.0 + WINDOW_S + 1:
                return False
        return True

    wait_until(window_full, 90, message=bridge.log())
    figures, references = {}, {}
    for loop in loops:
        figures[loop] = {name: bridge.readings(f"sensors/{loop}/{name}")[-1]
                         for name in ("error", "iae", "ise", "sat_pct", "osc_count",
                                      "osc_index", "travel", "manual_pct")}
        end = figures[loop]["iae"]["ts"] / 1000.0
        assert {r["ts"] for r in figures[loop].values()} == {figures[loop]["iae"]["ts"]}
        signals = {k: step_function([r for r in bridge.readings(f"sensors/{loop}/{k}")
                                     if r["ts"] / 1000.0 <= end])
                   for k in ("pv", "sp", "out", "mode")}
        references[loop] = reference(signals, end)
        for name, reading in figures[loop].items():
            assert close(name, reading["value"], references[loop][name]), \
                (loop, name, reading["value"], references[loop][name])

    value = {loop: {k: r["value"] for k, r in f.items()} for loop, f in figures.items()}
    # What each mode is for, in the figures.
    assert value["oscillating"]["osc_count"] >= 4   # about 6: a half-cycle every 3.3 s
    assert all(value[loop]["osc_count"] <= 3 for loop in loops if loop != "oscillating")
    assert value["saturated"]["sat_pct"] >= 95 and value["saturated"]["error"] > 5
    assert all(value[loop]["sat_pct"] < 50 for loop in ("tuned", "sluggish", "manual"))
    assert value["manual"]["manual_pct"] == 100.0 and value["manual"]["travel"] == 0.0
    assert all(value[loop]["manual_pct"] == 0.0 for loop in loops if loop != "manual")
    assert value["sluggish"]["iae"] > 1.5 * value["tuned"]["iae"]
    assert value["oscillating"]["travel"] > 5 * value["tuned"]["travel"]
    assert math.isfinite(value["tuned"]["ise"])
