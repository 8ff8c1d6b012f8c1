"""CPU and memory of the listener and the webhook, idle and under 1,000 readings/s (the
listener's cost per reading at full speed: bench/listener_ingest.py)."""

import json
import threading
import time

import paho.mqtt.client as mqtt
import psutil

from bench.figures import report
from devstack.loop import Loop

SECONDS = 10
RATE = 1000


def measure(processes, seconds):
    """CPU % (of one core) and peak RSS in MB of each process over `seconds`."""
    for proc in processes.values():
        proc.cpu_percent(None)
    peak = {name: 0 for name in processes}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            peak[name] = max(peak[name], proc.memory_info().rss)
        time.sleep(0.2)
    return {name: (proc.cpu_percent(None), peak[name] / 1e6) for name, proc in processes.items()}


def publish_steadily(host, port, rate, seconds, stop):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-readings")
    client.connect(host, port)
    client.loop_start()
    start, sent = time.monotonic(), 0
    while not stop.is_set() and time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate)
        while sent < due:
            device = f"esp32-{sent % 10:06d}"
            client.publish(f"sensors/{device}/pot",
                           json.dumps({"value": sent % 100, "seq": sent}), qos=0)
            sent += 1
        time.sleep(0.001)
    client.loop_stop()
    client.disconnect()


def main():
    print(f"resource use: listener and webhook, idle and at {RATE} readings/s ({SECONDS} s each)")
    with Loop(parts={"listener", "webhook"}) as loop:
        processes = {"listener": psutil.Process(loop.listener.process.pid),
                     "webhook": psutil.Process(loop.webhook.process.pid)}
        for name, (cpu, rss) in measure(processes, SECONDS).items():
            report(f"{name} idle: CPU", cpu, "%")
            report(f"{name} idle: peak RSS", rss, "MB")
        stop = threading.Event()
        publisher = threading.Thread(target=publish_steadily, daemon=True,
                                     args=(loop.broker.host, loop.broker.port, RATE, SECONDS + 1,
                                           stop))
        publisher.start()
        try:
            for name, (cpu, rss) in measure(processes, SECONDS).items():
                report(f"{name} at {RATE}/s: CPU", cpu, "%")
                if name == "listener":
                    report(f"{name} at {RATE}/s: CPU per reading", cpu / 100 / RATE * 1e6, "µs")
                report(f"{name} at {RATE}/s: peak RSS", rss, "MB")
        finally:
            stop.set()
            publisher.join()


if __name__ == "__main__":
    main()
