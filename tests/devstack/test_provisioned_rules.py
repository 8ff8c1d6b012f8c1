"""The provisioned alert rules evaluated by the stand-in on synthetic series written to a real
InfluxDB: the z-score anomaly rules and the PID loop rules fire and clear as designed."""

import math
import random
import time

import influxdb as influxdb_client
import pytest

from devstack.grafana_standin.__main__ import DEFAULT_FOLDER, StandIn
from devstack.grafana_standin.dispatch import Policy
from devstack.grafana_standin.evaluate import ALERTING, RuleEvaluator, run_expressions
from devstack.grafana_standin.rules import load_rules

RULES = {rule.uid: rule for rule in load_rules(DEFAULT_FOLDER)}
NOW = int(time.time()) - 60  # whole seconds, a little in the past: every point is settled


@pytest.fixture
def client(influxdb):
    client = influxdb_client.InfluxDBClient(influxdb.host, influxdb.port, database="iot")
    client.create_database("iot")
    yield client
    client.close()


def write(client, measurement, device, values, end=NOW, step=1):
    """`values` one per `step` s, the last at `end` (epoch s)."""
    lines = [f"{measurement},device={device} value={float(v)} "
             f"{(end - (len(values) - 1 - i) * step) * 10**9}"
             for i, v in enumerate(values) if v is not None]
    client.write_points(lines, protocol="line", batch_size=5000)


class Evaluation:
    """One rule evaluated by the stand-in at chosen instants, keeping its state between them."""

    def __init__(self, client, uid):
        self.standin = StandIn([RULES[uid]], client, poster=None, policy=Policy())
        self.evaluator = RuleEvaluator(RULES[uid])

    def at(self, now):
        results, error = self.standin.query(self.evaluator.rule, now)
        assert error is None, error
        self.evaluator.evaluate(results, now)
        return {i.labels["device"]: i for i in self.evaluator.instances.values()}

    def scores(self, now, ref_id):
        """Every device's value of step `ref_id`, firing or not."""
        results, error = self.standin.query(self.evaluator.rule, now)
        assert error is None, error
        values = run_expressions(self.evaluator.rule, results)
        return {number.labels["device"]: number.value for number in values[ref_id]}

    def firing_at(self, now):
        return {d for d, i in self.at(now).items() if i.state == ALERTING}


# ---- anomaly: z = (mean 10 s - mean 10 min) / (stddev 10 min + floor), |z| > 3 --------------

def noise(seconds, level=50.0, sigma=1.0, seed=1):
    rng = random.Random(seed)
    return [level + rng.gauss(0, sigma) for _ in range(seconds)]


@pytest.fixture
def anomaly_series(client):
    history = noise(1800, seed=1)  # 30 min of steady noise
    write(client, "pot", "noise", history)
    write(client, "pot", "step", noise(1200, seed=2)[:-8] + [60 + x for x in noise(8, 0, seed=3)])
    spike = noise(1200, seed=4)
    spike[-6:-3] = [90, 90, 90]  # three readings (3 s) far off
    write(client, "pot", "spike", spike)
    write(client, "pot", "flat", [42.0] * 1200)
    write(client, "pot", "drift", [40 + 20 * i / 1200 + x  # 20 units in 20 min, with noise
                                   for i, x in enumerate(noise(1200, 0, seed=5))])
    write(client, "pv", "tic101", noise(1200, 80, 0.3, seed=6)[:-8] + [84.0] * 8)
    return client


def test_a_step_and_a_spike_fire_noise_a_flat_line_and_a_drift_do_not(anomaly_series):
    evaluation = Evaluation(anomaly_series, "pot-anomaly")
    instances = evaluation.at(NOW)
    assert {d for d, i in instances.items() if i.state == ALERTING} == {"step", "spike"}
    assert instances["step"].labels["measurement"] == "pot"
    z = evaluation.scores(NOW, "G")
    assert z["step"] > 3 and z["spike"] > 3 and abs(z["noise"]) < 3, z


def test_steady_noise_never_fires(anomaly_series):
    evaluation = Evaluation(anomaly_series, "pot-anomaly")
    for now in range(NOW - 1200, NOW + 1, 10):  # 20 min of evaluations, each with a full window
        assert "noise" not in evaluation.firing_at(now), now


def test_a_flat_line_gives_a_zero_score_not_a_division_by_zero(anomaly_series):
    evaluation = Evaluation(anomaly_series, "pot-anomaly")
    assert evaluation.scores(NOW, "F")["flat"] == 0, "no deviation at all"
    assert evaluation.scores(NOW, "G")["flat"] == 0
    assert "flat" not in evaluation.firing_at(NOW)


def test_a_linear_drift_stays_below_the_square_root_of_3(anomaly_series):
    evaluation = Evaluation(anomaly_series, "pot-anomaly")
    assert 1 < evaluation.scores(NOW, "G")["drift"] < math.sqrt(3)


def test_the_process_value_rule_scores_the_pv_measurement(anomaly_series):
    firing = Evaluation(anomaly_series, "pv-anomaly").firing_at(NOW)
    assert firing == {"tic101"}


def test_the_anomaly_resolves_once_the_new_level_is_the_normal_one(client):
    write(client, "pot", "settles", noise(600, seed=7) + noise(1200, 70, seed=8))
    evaluation = Evaluation(client, "pot-anomaly")
    assert "settles" in evaluation.firing_at(NOW - 1200 + 10)
    assert "settles" not in evaluation.firing_at(NOW)


# ---- PID loops -------------------------------------------------------------------------------

def first_order(start, target, seconds, tau=20.0):
    return [target - (target - start) * math.exp(-t / tau) for t in range(seconds)]


def test_loop_deviation_fires_on_a_setpoint_step_and_clears_once_the_loop_settles(client):
    step_at = NOW - 300
    write(client, "sp", "tic201", [50.0], end=step_at - 3000)  # unchanged for an hour
    write(client, "pv", "tic201", noise(600, 50, 0.3, seed=9), end=step_at - 1)
    write(client, "sp", "tic201", [65.0], end=step_at)  # the operator's setpoint step
    write(client, "pv", "tic201", [x + y for x, y in zip(first_order(50, 65, 301),
                                                          noise(301, 0, 0.3, seed=10))],
          end=NOW)
    evaluation = Evaluation(client, "loop-deviation")
    states = {now: "tic201" in evaluation.firing_at(now)
              for now in range(step_at - 120, NOW + 1, 10)}
    assert not any(firing for now, firing in states.items() if now < step_at)
    assert states[step_at + 10], "the setpoint step fires at the next evaluation"
    cleared = min(now for now, firing in states.items() if now > step_at and not firing)
    assert not any(states[now] for now in states if now >= cleared), "no flicker once cleared"
    assert cleared < step_at + 120


def test_loop_deviation_compares_with_the_setpoint_in_force_the_loops_separately(client):
    write(client, "sp", "tic301", [20.0], end=NOW - 7200)
    write(client, "pv", "tic301", [30.0] * 30, end=NOW)
    write(client, "sp", "tic302", [30.0], end=NOW - 7200)
    write(client, "pv", "tic302", [30.0] * 30, end=NOW)
    firing = Evaluation(client, "loop-deviation").firing_at(NOW)
    assert "tic301" in firing and "tic302" not in firing


def test_output_saturated_fires_after_60_s_and_clears_with_hysteresis(client):
    saturated_at = NOW - 200
    write(client, "out", "tic401", [45.0, 52.0], end=saturated_at - 1)
    write(client, "out", "tic401", [100.0], end=saturated_at)  # on change only: one reading
    write(client, "out", "tic401", [97.5], end=saturated_at + 100)  # inside the hysteresis band
    write(client, "out", "tic401", [60.0], end=saturated_at + 150)
    evaluation = Evaluation(client, "output-saturated")
    firing = {offset: "tic401" in evaluation.firing_at(saturated_at + offset)
              for offset in range(5, 200, 10)}
    assert not any(firing[o] for o in firing if o < 60), "pending for the first minute"
    assert firing[65] and firing[95]
    assert firing[105], "97.5 is not yet back inside 3-97"
    assert not firing[155]


def test_output_saturated_low_fires_too(client):
    write(client, "out", "tic402", [30.0, 1.5], end=NOW - 90)
    evaluation = Evaluation(client, "output-saturated")
    assert "tic402" not in evaluation.firing_at(NOW - 85)
    assert "tic402" in evaluation.firing_at(NOW - 85 + 60)
