"""Benchmark: how long after a full-scale pot step sensor-sim publishes a reading >= 75.

Runs a real mosquitto (devstack) and build/firmware/sensor-sim, steps the simulated ADC from 0 to
4095 repeatedly, and prints the latency from writing the stdin line to a subscriber receiving
the first reading >= 75. Run from the repository root after `make firmware`:

    python3 firmware/tools/step_latency.py [--steps 20]
"""

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devstack.mqtt_probe import Probe  # noqa: E402
from devstack.servers import Mosquitto, Service  # noqa: E402
from devstack.wait import wait_until  # noqa: E402


class Arrivals:
    """Receive times of readings, recorded in paho's callback."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def record(self, client, userdata, message):
        value = json.loads(message.payload)["value"]
        with self.lock:
            self.items.append((time.monotonic(), value))

    def first_at_or_after(self, since, low, high):
        with self.lock:
            return next((t for t, v in self.items if t >= since and low <= v <= high), None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    binary = REPO / "build" / "firmware" / "sensor-sim"
    if not binary.exists():
        sys.exit(f"{binary} is missing: run `make firmware` first")

    latencies = []
    with Mosquitto() as broker:
        arrivals = Arrivals()
        with Probe(broker.host, broker.port, ["sensors/#"]) as probe:
            probe.client.on_message = arrivals.record
            sim = Service("sensor-sim", [str(binary), "--host", broker.host, "--port",
                                         str(broker.port), "--device-id", "bench"],
                          stdin=subprocess.PIPE)
            with sim:
                for _ in range(args.steps):
                    sent = time.monotonic()
                    sim.process.stdin.write(b"0\n")
                    sim.process.stdin.flush()
                    wait_until(lambda s=sent: arrivals.first_at_or_after(s, 0, 0), 10)
                    time.sleep(0.2)  # let the filter settle at 0 (benchmark, not a test)
                    sent = time.monotonic()
                    sim.process.stdin.write(b"4095\n")
                    sim.process.stdin.flush()
                    arrived = wait_until(lambda s=sent: arrivals.first_at_or_after(s, 75, 100), 10)
                    latencies.append((arrived - sent) * 1000)
    latencies.sort()
    print(f"sensor-sim step 0 -> 4095, first reading >= 75 received after (ms), {len(latencies)} "
          f"steps: median {statistics.median(latencies):.0f}, "
          f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.0f}, max {latencies[-1]:.0f}")


if __name__ == "__main__":
    main()
