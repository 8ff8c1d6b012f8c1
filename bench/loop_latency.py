"""Loop latency: from the webhook's POST to the indicator's LED change, over 100 alternations.

Real mosquitto, the real webhook (waitress) with its annunciator on (the default) and
indicator-sim; Grafana's unified notification bodies. Firing shows a new alarm (red flashing),
resolving an unacknowledged one shows green flashing. Target p99 <= 50 ms.
"""

import time

import requests

from bench.figures import LineFollower, grafana_bodies, report_latencies
from devstack.loop import Loop

ALTERNATIONS = 100


def main():
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


if __name__ == "__main__":
    main()
