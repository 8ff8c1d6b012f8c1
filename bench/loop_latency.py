"""Loop latency: from the webhook's POST to the indicator's LED change, over 100 alternations.

Real mosquitto, the real webhook (waitress) and indicator-sim; Grafana's unified notification
bodies. Target p99 <= 50 ms.
"""

import time

import requests

from bench.figures import LineFollower, report_latencies
from devstack.grafana_standin.evaluate import ALERTING, NORMAL, Instance, notification
from devstack.grafana_standin.rules import load_rules
from devstack.loop import ROOT, Loop

ALTERNATIONS = 100


def bodies(device="bench01"):
    [rule] = load_rules(ROOT / "grafana" / "provisioning" / "alerting")
    labels = {"alertname": rule.title, "grafana_folder": rule.folder, "device": device}
    firing = Instance(labels=labels, state=ALERTING, starts_at=1.0)
    resolved = Instance(labels=labels, state=NORMAL, starts_at=1.0, ends_at=2.0)
    return notification(rule, [firing]), notification(rule, [resolved])


def main():
    print(f"loop latency: webhook POST -> indicator LED change, {ALTERNATIONS} alternations")
    firing, resolved = bodies()
    with Loop(parts={"webhook", "indicator"}) as loop:
        session = requests.Session()
        session.auth = loop.webhook_auth
        follower = LineFollower(loop.indicator.log_path)
        samples = []
        try:
            for i in range(ALTERNATIONS + 2):
                body, colour = (firing, "LED red") if i % 2 == 0 else (resolved, "LED green")
                start = time.perf_counter()
                session.post(f"{loop.webhook_url}/alert", json=body, timeout=5).raise_for_status()
                seen = follower.wait_for(colour)
                if i >= 2:  # the first two warm the connection and the indicator up
                    samples.append(seen - start)
        finally:
            follower.close()
    report_latencies("POST -> LED", samples, target_p99_ms=50)


if __name__ == "__main__":
    main()
