"""Acknowledgement latency: from a press of the indicator's button to its LED turning steady.

Real mosquitto, the real webhook (waitress) and indicator-sim. Each round fires the alert over
`POST /alert` (Grafana's unified body), waits for red flashing, presses (`press` on the
simulator's stdin), times the steady red, then resolves (green). The path: the simulator's
publish on `alerts/<alert>/ack`, the webhook's acknowledgement (state document, annunciator
topics and journal, each acknowledged by the broker), the retained state back to the board.

Two figures: pressing 200 ms after the LED started flashing (as a person does), and at once.
The second was about 40 ms more until the simulators' link set TCP_NODELAY: the press followed
the PUBACK for the state just received and, under Nagle's algorithm, waited for the broker's
delayed TCP ACK of it. The rounds are paced to the webhook's per-sender limit (one press a
second after a burst of five, webhook/ack_guard.py), so no press is refused.
"""

import time

import requests

from bench.figures import LineFollower, grafana_bodies, report_latencies
from devstack.loop import Loop
from webhook.ack_guard import SENDER_INTERVAL_S

ROUNDS = 50
HUMAN_PAUSE = 0.2  # s between the LED starting to flash and the press


def main():
    print(f"acknowledgement latency: button press -> steady LED, {ROUNDS} rounds")
    firing, resolved = grafana_bodies()
    with Loop(parts={"webhook", "indicator"}) as loop:
        session = requests.Session()
        session.auth = loop.webhook_auth
        follower = LineFollower(loop.indicator.log_path)
        samples = {HUMAN_PAUSE: [], 0.0: []}
        try:
            pressed = None
            for i in range(2 * ROUNDS + 2):
                pause = HUMAN_PAUSE if i % 2 == 0 else 0.0
                if pressed is not None:  # a press a second at most: the webhook's own limit
                    time.sleep(max(0.0, pressed + SENDER_INTERVAL_S - time.perf_counter()))
                session.post(f"{loop.webhook_url}/alert", json=firing, timeout=5)
                follower.wait_for("LED red-flashing")
                time.sleep(pause)
                start = pressed = time.perf_counter()
                loop.press()
                seen = follower.wait_for("LED red")
                if i >= 2:  # the first two warm the connection and the indicator up
                    samples[pause].append(seen - start)
                session.post(f"{loop.webhook_url}/alert", json=resolved, timeout=5)
                follower.wait_for("LED green")
        finally:
            follower.close()
    report_latencies("press -> steady LED", samples[HUMAN_PAUSE])
    report_latencies("press at once -> steady LED", samples[0.0])


if __name__ == "__main__":
    main()
