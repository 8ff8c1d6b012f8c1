"""Loop latency, two figures.

1. From the webhook's POST to the indicator's LED change, over 100 alternations (real mosquitto,
   the real webhook with its annunciator on (the default) and indicator-sim; Grafana's unified
   notification bodies): firing shows red flashing, resolving an unacknowledged alarm green
   flashing. Target p99 <= 50 ms.
2. From the pot to the LED as deployed: sensor-sim, listener, InfluxDB, the Grafana stand-in with
   every provisioned timing (rule interval and window, recovery threshold, group_wait,
   group_interval), webhook, indicator-sim. Median and worst over several transitions in both
   directions, each started at a random phase against the evaluations; about three minutes.
   The latency budget of the provisioned files is printed beside the figures.
"""

import math
import random
import time
from dataclasses import dataclass

import requests

from bench.figures import LineFollower, grafana_bodies, report, report_latencies
from devstack.grafana_standin.__main__ import DEFAULT_FOLDER
from devstack.grafana_standin.dispatch import load_policy
from devstack.grafana_standin.rules import load_rules
from devstack.loop import ALERT, Loop

ALTERNATIONS = 100
TRANSITIONS = 4  # each direction
ADC_MAX = 4095


@dataclass(frozen=True)
class Budget:
    """The pot rule's timings as provisioned, and the latency they allow for a full-scale step."""

    interval: float
    window: float
    pending_for: float
    fire_above: float
    clear_below: float
    group_wait: float
    group_interval: float
    sample: float = 1.0  # the boards send one reading a second
    flush: float = 0.5  # the listener writes its batch this often (LISTENER_FLUSH_INTERVAL)

    @classmethod
    def provisioned(cls, folder=DEFAULT_FOLDER):
        rule = next(r for r in load_rules(folder) if r.uid == ALERT)
        [condition] = [e for e in rule.expressions if e.ref_id == rule.condition]
        clear_below = condition.unload[1][0] if condition.unload else condition.params[0]
        policy = load_policy(folder)
        return cls(rule.interval, rule.query.range_from, rule.pending_for,
                   condition.params[0], clear_below, policy.group_wait, policy.group_interval)

    def _samples_needed(self, percent):
        """How many 1 Hz samples of the new value the window's mean needs to pass `percent`."""
        return math.floor(self.window / self.sample * percent / 100) + 1

    def up(self):
        """(best, worst) s from a 0 -> 100 % step to the LED turning red: the samples that move
        the mean past the threshold (the first one comes 0 to 1 s after the step), the
        listener's flush, the next evaluation, group_wait."""
        needed = self._samples_needed(self.fire_above) * self.sample + self.pending_for
        return (needed - self.sample + self.group_wait,
                needed + self.flush + self.interval + self.group_wait)

    def down(self):
        """(best, worst) s from a 100 -> 0 % step to the LED turning green. The resolved
        notification waits for the group's next flush. The group's flushes follow the evaluation
        that created it by group_wait, every group_interval: when that equals the evaluation
        interval they follow every evaluation by group_wait; otherwise the wait can be up to a
        whole group_interval."""
        needed = self._samples_needed(100 - self.clear_below) * self.sample
        wait = self.group_wait if self.group_interval == self.interval else self.group_interval
        return (needed - self.sample + min(wait, self.group_wait),
                needed + self.flush + self.interval + wait)

    def print(self):
        print(f"  latency budget (provisioned): evaluation every {self.interval:g} s, mean over "
              f"{self.window:g} s, fire above {self.fire_above:g}, clear below "
              f"{self.clear_below:g}, for {self.pending_for:g} s, group_wait "
              f"{self.group_wait:g} s, group_interval {self.group_interval:g} s")
        print(f"  expected for a full-scale step: up {self.up()[0]:.1f}-{self.up()[1]:.1f} s, "
              f"down {self.down()[0]:.1f}-{self.down()[1]:.1f} s (plus milliseconds of "
              f"transport)", flush=True)


def post_to_led():
    print(f"loop latency: webhook POST -> indicator LED change, {ALTERNATIONS} alternations")
    firing, resolved = grafana_bodies()
    with Loop(parts={"webhook", "indicator"}) as loop:
        session = requests.Session()
        session.auth = loop.webhook_auth
        follower = LineFollower(loop.indicator.log_path)
        samples = []
        try:
            for i in range(ALTERNATIONS + 2):
                body, colour = (firing, "LED red-flashing") if i % 2 == 0 \
                    else (resolved, "LED green-flashing")
                start = time.perf_counter()
                session.post(f"{loop.webhook_url}/alert", json=body, timeout=5).raise_for_status()
                seen = follower.wait_for(colour)
                if i >= 2:  # the first two warm the connection and the indicator up
                    samples.append(seen - start)
        finally:
            follower.close()
    report_latencies("POST -> LED", samples, target_p99_ms=50)


def pot_to_led(transitions=TRANSITIONS, seed=None):
    budget = Budget.provisioned()
    print(f"loop latency as deployed: pot step -> indicator LED, {transitions} transitions each "
          "way")
    budget.print()
    phase = random.Random(seed)
    samples = {"red": [], "green": []}
    with Loop(deployed_timings=True) as loop:
        loop.set_pot(0)
        loop.wait_for_colour("green", timeout=120)
        moved = time.monotonic()
        for _ in range(transitions):
            for raw, colour in ((ADC_MAX, "red"), (0, "green")):
                # A knob rests for a window before it moves, at any phase of the evaluations.
                rested = time.monotonic() - moved
                time.sleep(max(0.0, budget.window - rested) + phase.uniform(0, budget.interval))
                moved = time.monotonic()
                loop.set_pot(raw)
                # With the annunciator on (the default) red flashes until acknowledged and
                # green flashes after an unacknowledged alarm: the colour is what counts.
                loop.wait_for_colour(colour, timeout=budget.down()[1] + budget.up()[1] + 60)
                samples[colour].append(time.monotonic() - moved)
    for colour, direction in (("red", "up (pot high -> LED red)"),
                              ("green", "down (pot low -> LED green)")):
        seconds = sorted(samples[colour])
        report(f"{direction} median", seconds[len(seconds) // 2], "s")
        report(f"{direction} worst", seconds[-1], "s",
               f"<= {budget.up()[1] if colour == 'red' else budget.down()[1]:.1f} s budget")


def main():
    post_to_led()
    pot_to_led()


if __name__ == "__main__":
    main()
