"""Sensor step latency: how long after a full-scale pot step sensor-sim publishes a reading >= 75.

Real mosquitto and sensor-sim (the sensor's logic: oversampling, smoothing, publish schedule).
Steps the simulated ADC from 0 to 4095 repeatedly and measures from writing the stdin line to a
subscriber receiving the first reading >= 75.
"""

import json
import subprocess
import threading
import time

from bench.figures import report_latencies
from devstack.loop import FIRMWARE_BUILD
from devstack.mqtt_probe import Probe
from devstack.servers import Mosquitto, Service
from devstack.wait import wait_until

STEPS = 20


class Arrivals:
    """Receive times of readings, recorded in paho's callback."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def record(self, client, userdata, message):
        value = json.loads(message.payload)["value"]
        with self.lock:
            self.items.append((time.perf_counter(), value))

    def first_at_or_after(self, since, low, high):
        with self.lock:
            return next((t for t, v in self.items if t >= since and low <= v <= high), None)


def step(sim, arrivals, line, low, high):
    sent = time.perf_counter()
    sim.process.stdin.write(f"{line}\n".encode())
    sim.process.stdin.flush()
    return wait_until(lambda: arrivals.first_at_or_after(sent, low, high), 10) - sent


def main():
    print(f"sensor step latency: ADC 0 -> 4095, first reading >= 75 received, {STEPS} steps")
    latencies = []
    with Mosquitto() as broker:
        arrivals = Arrivals()
        with Probe(broker.host, broker.port, ["sensors/#"]) as probe:
            probe.client.on_message = arrivals.record
            sim = Service("sensor-sim", [str(FIRMWARE_BUILD / "sensor-sim"), "--host",
                                         broker.host, "--port", str(broker.port), "--device-id",
                                         "bench"], stdin=subprocess.PIPE)
            with sim:
                for _ in range(STEPS):
                    step(sim, arrivals, 0, 0, 0)
                    time.sleep(0.2)  # let the filter settle at 0 (a benchmark, not a test)
                    latencies.append(step(sim, arrivals, 4095, 75, 100))
    report_latencies("ADC step -> reading >= 75", latencies)


if __name__ == "__main__":
    main()
