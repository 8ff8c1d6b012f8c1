"""The loop health figures (opcua_bridge/loop_health.py) on made-up signals whose figures are
known in closed form, and a loop's health fields in the nodes file."""

import math

import pytest

from opcua_bridge.loop_health import BUCKETS, FIGURES, HealthSettings, LoopHealth
from service_common.opcua import nodes_file


def feed(health, t0, t1, dt, **signals):
    """Each signal (a function of t) sampled every dt from t0 to t1 (excluded)."""
    t = t0
    while t < t1 - 1e-9:
        for role, signal in signals.items():
            health.update(role, signal(t), t)
        t += dt
    return t


def test_a_constant_error_gives_iae_ise_in_percent_of_span():
    health = LoopHealth(HealthSettings(span=200.0, window_s=60.0))
    feed(health, 0.0, 100.0, 1.0, pv=lambda t: 40.0, sp=lambda t: 50.0, out=lambda t: 30.0)
    figures = health.figures(100.0)
    assert figures["error"] == 10.0
    assert figures["iae"] == pytest.approx(5.0 * 60)     # 10 of a 200 span: 5 % for 60 s
    assert figures["ise"] == pytest.approx(25.0 * 60)
    assert figures["sat_pct"] == 0.0 and figures["travel"] == 0.0
    assert figures["osc_count"] == 0.0 and figures["osc_index"] == 0.0
    assert "manual_pct" not in figures   # no mode tag


def test_a_window_not_yet_full_integrates_what_there_is():
    health = LoopHealth(HealthSettings(window_s=600.0))
    feed(health, 1000.0, 1030.0, 0.5, pv=lambda t: 49.0, sp=lambda t: 50.0)
    assert health.figures(1030.0)["iae"] == pytest.approx(30.0, rel=1e-6)


def test_saturation_travel_and_manual_time():
    health = LoopHealth(HealthSettings(out_low=5.0, out_high=95.0, window_s=100.0))
    # OUT at 100 for the first 50 s, then 50; manual (mode 1) for the last 25 s.
    feed(health, 0.0, 100.0, 0.5, pv=lambda t: 50.0, sp=lambda t: 50.0,
         out=lambda t: 100.0 if t < 50 else 50.0, mode=lambda t: 1.0 if t >= 75 else 0.0)
    figures = health.figures(100.0)
    assert figures["sat_pct"] == pytest.approx(50.0, abs=1.0)
    assert figures["travel"] == pytest.approx(50.0)
    assert figures["manual_pct"] == pytest.approx(25.0, abs=1.0)
    assert figures["error"] == 0.0 and figures["iae"] == 0.0


def test_the_window_forgets_and_prorates_its_oldest_bucket():
    health = LoopHealth(HealthSettings(window_s=120.0))
    feed(health, 0.0, 60.0, 0.25, pv=lambda t: 45.0, sp=lambda t: 50.0)
    feed(health, 60.0, 150.0, 0.25, pv=lambda t: 50.0, sp=lambda t: 50.0)
    assert health.figures(150.0)["iae"] == pytest.approx(5.0 * 30, rel=1 / BUCKETS)
    feed(health, 150.0, 200.0, 0.25, pv=lambda t: 50.0, sp=lambda t: 50.0)
    assert health.figures(200.0)["iae"] == 0.0


def test_a_sustained_oscillation_is_counted_with_its_severity():
    """A sine error of amplitude A (% of span) and period P: each half-cycle's IAE is A*P/pi,
    Hägglund's IAE_lim is a*Tu/pi, so the index is A/a when Tu = P."""
    settings = HealthSettings(window_s=60.0, osc_amplitude_pct=1.0, osc_period_s=10.0)
    health = LoopHealth(settings)
    feed(health, 0.0, 120.0, 0.05, sp=lambda t: 50.0,
         pv=lambda t: 50.0 + 5.0 * math.sin(2 * math.pi * (t + 0.01) / 10.0))
    figures = health.figures(120.0)
    assert figures["osc_count"] in (11.0, 12.0)     # two half-cycles per period, 60 s
    assert figures["osc_index"] == pytest.approx(5.0, rel=0.02)
    assert figures["iae"] == pytest.approx(5.0 * 2 / math.pi * 60, rel=0.02)
    marks = health.take_marks()
    assert len(marks) in (23, 24) and health.take_marks() == []
    assert all(mark == pytest.approx(5.0, rel=0.02) for _, mark in marks)
    assert [t for t, _ in marks] == sorted(t for t, _ in marks)


def test_small_or_slow_movement_is_no_oscillation():
    health = LoopHealth(HealthSettings(window_s=60.0, osc_amplitude_pct=1.0, osc_period_s=10.0))
    feed(health, 0.0, 120.0, 0.05, sp=lambda t: 50.0,   # half-cycle IAE 0.5*10/pi < 10/pi
         pv=lambda t: 50.0 + 0.5 * math.sin(2 * math.pi * (t + 0.01) / 10.0))
    assert health.figures(120.0)["osc_count"] == 0.0
    # One setpoint step is one disturbance, not an oscillation.
    feed(health, 120.0, 180.0, 0.05, sp=lambda t: 60.0,
         pv=lambda t: 60.0 - 10.0 * math.exp(-(t - 120.0) / 3.0) * math.cos(t - 120.0))
    assert health.figures(180.0)["osc_count"] <= 2.0


def test_unknown_values_are_not_held_over_a_gap():
    health = LoopHealth(HealthSettings(window_s=100.0))
    feed(health, 0.0, 10.0, 1.0, pv=lambda t: 40.0, sp=lambda t: 50.0)
    health.forget(10.0)
    assert "error" not in health.figures(50.0)
    assert health.figures(50.0)["iae"] == pytest.approx(100.0)   # 10 % for 10 s, not 50
    health.update("pv", 50.0, 60.0)
    health.update("sp", 50.0, 60.0)
    assert health.figures(70.0)["error"] == 0.0


def test_time_going_back_adds_nothing():
    health = LoopHealth(HealthSettings(window_s=100.0))
    health.update("pv", 40.0, 10.0)
    health.update("sp", 50.0, 10.0)
    health.update("pv", 40.0, 5.0)
    assert health.figures(20.0)["iae"] == pytest.approx(100.0)


def test_the_state_is_bounded():
    health = LoopHealth(HealthSettings(window_s=10.0))
    feed(health, 0.0, 1000.0, 0.01, pv=lambda t: 50.0 + math.sin(t * 3), sp=lambda t: 50.0)
    assert len(health.buckets) <= BUCKETS + 2
    assert len(health.cycles) <= 20


def test_health_fields_in_the_nodes_file():
    problems = []
    parsed = nodes_file.parse_nodes_file({"health_interval_ms": 1000, "loops": [
        {"id": "fic1", "pv": "ns=2;s=PV", "sp": "ns=2;s=SP", "out": "ns=2;s=OUT",
         "mode": "ns=2;s=MAN", "span": 250, "out_limits": [5, 95], "manual_value": 0,
         "window_s": 300, "osc_amplitude_pct": 2, "osc_period_s": 40},
        {"id": "tic2", "pv": "ns=2;s=PV2"}]}, problems)
    assert problems == []
    assert parsed.health_interval_ms == 1000
    fic, tic = parsed.loops
    assert fic == nodes_file.Loop("fic1", HealthSettings(
        span=250, out_low=5, out_high=95, manual_value=0, window_s=300, osc_amplitude_pct=2,
        osc_period_s=40))
    assert tic == nodes_file.Loop("tic2", HealthSettings())
    assert ("fic1", "mode") in {(n.device, n.measurement) for n in parsed.nodes}
    assert set(FIGURES) == {"error", "iae", "ise", "sat_pct", "osc_count", "osc_index",
                            "travel", "manual_pct"}


@pytest.mark.parametrize("fields, expected", [
    ({"span": 0}, "span=0 must be above 0"),
    ({"span": "wide"}, "span='wide' must be a number"),
    ({"out_limits": [90, 10]}, "out_limits=[90, 10] must be [low, high]"),
    ({"out_limits": 5}, "out_limits=5 must be [low, high]"),
    ({"window_s": 0.5}, "window_s=0.5 must be at least 1"),
    ({"osc_period_s": 0}, "osc_period_s=0 must be above 0"),
    ({"osc_amplitude_pct": -1}, "osc_amplitude_pct=-1 must be at least 0"),
    ({"manual_value": 1}, "manual_value needs a mode tag"),
    ({"mode": "Manual"}, "mode: 'Manual'"),
    ({"spam": 1}, "unknown key 'spam'"),
], ids=lambda v: str(v)[:30])
def test_bad_health_fields_are_named(fields, expected):
    problems = []
    nodes_file.parse_nodes_file({"loops": [{"id": "l1", "pv": "ns=2;s=PV", **fields}]}, problems)
    assert any(expected in p for p in problems), problems


def test_health_interval_is_off_at_0_and_bounded():
    problems = []
    assert nodes_file.parse_nodes_file({"health_interval_ms": 0, "nodes": []}, problems) \
        .health_interval_ms is None
    nodes_file.parse_nodes_file({"health_interval_ms": 10, "nodes": []}, problems)
    nodes_file.parse_nodes_file({"loops": [{"id": "a", "pv": "i=1"}, {"id": "a", "pv": "i=2"}]},
                            problems)
    assert problems[0].endswith("health_interval_ms=10 must be 0 (off) or at least 100")
    assert any("loop id 'a' is used twice" in p for p in problems)
