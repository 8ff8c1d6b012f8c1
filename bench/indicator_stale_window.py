"""Stale window: how long indicator-sim keeps showing a colour after the broker vanishes without
closing the connection (SIGSTOP, as when its host loses power or a cable is pulled).

Real mosquitto and indicator-sim (the indicator's logic, with the boards' 5 s keepalive), and the
webhook's heartbeat on status/webhook (every 5 s, as the webhook's), without which the indicator
vouches for no colour. The boards' PubSubClient detects it the same way: one silent keepalive
period, then an unanswered PINGREQ, so expect between 1 and 2 keepalives (5-10 s).
"""

import statistics
import time

from bench.figures import LineFollower, report
from devstack.heartbeat import Heartbeat
from devstack.loop import FIRMWARE_BUILD, LED_PREFIX
from devstack.mqtt_probe import Probe
from devstack.servers import Mosquitto, Service

FREEZES = 3
TOPIC = "alerts/bench-stale"


def main():
    print(f"stale window: broker frozen (SIGSTOP) -> indicator shows unknown, {FREEZES} freezes")
    windows = []
    with Mosquitto() as broker:
        with Probe(broker.host, broker.port) as probe:
            probe.publish(TOPIC, "1", retain=True)
        sim = Service("indicator-sim", [str(FIRMWARE_BUILD / "indicator-sim"), "--host",
                                        broker.host, "--port", str(broker.port), "--device-id",
                                        "bench-stale", "--topic", TOPIC])
        heartbeat = Heartbeat(broker, period_s=5.0)
        with sim:
            follower = LineFollower(sim.log_path)
            try:
                follower.wait_for(f"{LED_PREFIX}red", timeout=20)
                for _ in range(FREEZES):
                    frozen_at = time.perf_counter()
                    broker.freeze()
                    try:
                        windows.append(follower.wait_for(f"{LED_PREFIX}unknown", 60) - frozen_at)
                    finally:
                        broker.thaw()
                    follower.wait_for(f"{LED_PREFIX}red", timeout=60)
            finally:
                follower.close()
                heartbeat.stop()
    report("stale window median", statistics.median(windows), "s", "<= 2 keepalives (10 s)")
    report("stale window max", max(windows), "s")


if __name__ == "__main__":
    main()
