"""Listener ingest benchmark: the listener against a bare paho subscriber, on one broker.

    python3 -m bench.listener_ingest [--messages 100000] [--runs 3]

Each run starts its own mosquitto and InfluxDB, then a bare paho subscriber process that only
json-parses, the listener (`python -m listener`), and one publisher process sending the QoS 0
JSON payloads as fast as it can. Both consumers subscribe at QoS 1 (delivered at QoS 0, as
from PubSubClient boards). A consumer's rate is messages / (time its last message was done -
time the publisher started); for the listener "done" means counted in InfluxDB. Prints both
rates, their ratio and the listener's peak RSS for each run, then the best run and the spread.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOPIC = "sensors/bench-{}/pot"
DEVICES = 4
# The bench broker may hold everything: mosquitto's default (1000 queued messages per client)
# would drop most of a burst that the consumers are still working through.
BROKER_CONFIG = "max_queued_messages 0\nmax_queued_bytes 0\n"


def payload(i, base_ms):
    return json.dumps({"value": i % 4096, "ts": base_ms + i, "seq": i})


def run_bare_subscriber(host, port, messages):
    """Child process: count and json-parse every message; print the time of the last one."""
    import paho.mqtt.client as mqtt

    state = {"count": 0}

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe("sensors/+/+", qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        print("ready", flush=True)

    def on_message(client, userdata, message):
        json.loads(message.payload)
        state["count"] += 1
        if state["count"] == messages:
            print(f"done {time.time()}", flush=True)
            client.disconnect()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, \
        on_message
    client.connect(host, port, 60)
    client.loop_forever()


def run_publisher(host, port, messages):
    """Child process: publish as fast as one paho client can; print the start time."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.connect(host, port, 60)
    client.loop_start()
    base_ms = int(time.time() * 1000) - messages - 60_000
    topics = [TOPIC.format(d) for d in range(DEVICES)]
    started = time.time()
    print(f"start {started}", flush=True)
    for i in range(messages):
        client.publish(topics[i % DEVICES], payload(i, base_ms), qos=0)
    client.publish("bench/end", b"", qos=1).wait_for_publish(60)
    print(f"published {time.time()}", flush=True)
    client.disconnect()
    client.loop_stop()


def peak_rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil
    return psutil.Process(pid).memory_info().rss / 2**20


def read_line(process, prefix, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{process.args} ended before printing {prefix!r}")
        if line.startswith(prefix):
            return line.split()[1] if " " in line.strip() else ""
    raise TimeoutError(f"no {prefix!r} from {process.args}")


def one_run(messages):
    from influxdb import InfluxDBClient

    from devstack.mqtt_probe import Probe
    from devstack.servers import InfluxDB, Mosquitto, Service
    from devstack.wait import wait_until

    def child(role):
        return subprocess.Popen(
            [sys.executable, "-m", "bench.listener_ingest", f"--{role}", broker.host,
             str(broker.port), str(messages)], cwd=REPO, stdout=subprocess.PIPE, text=True)

    with Mosquitto(config=BROKER_CONFIG) as broker, InfluxDB() as influx, \
            tempfile.TemporaryDirectory(prefix="bench-listener-") as folder:
        env = {"PYTHONPATH": str(REPO), "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
               "INFLUXDB_URL": influx.url, "INFLUXDB_DATABASE": "bench",
               "LISTENER_SPOOL_DIR": f"{folder}/spool", "LISTENER_LOG_LEVEL": "WARNING"}
        with Probe(broker.host, broker.port, ["status/listener"]) as status:
            listener = Service("listener", [sys.executable, "-m", "listener"], env=env,
                               ready=lambda: status.last("status/listener") == b"online",
                               workdir=folder)
            listener.start()
        db = InfluxDBClient(influx.host, influx.port, database="bench", timeout=10)
        wait_until(lambda: any(d["name"] == "bench" for d in db.get_list_database()), 20)
        bare = child("bare-subscriber")
        read_line(bare, "ready", 20)
        publisher = child("publisher")
        try:
            started = float(read_line(publisher, "start", 20))

            def stored():
                found = list(db.query("SELECT count(value) FROM pot").get_points())
                return found and found[0]["count"] >= messages
            wait_until(stored, 300, interval=0.05, message="the listener did not store them all")
            listener_done = time.time()
            bare_done = float(read_line(bare, "done", 300))
            published = float(read_line(publisher, "published", 60))
            rss = peak_rss_mb(listener.process.pid)
        finally:
            for process in (bare, publisher):
                process.kill()
                process.wait()
            listener.stop()
            db.close()
        return {
            "publisher": messages / (published - started),
            "bare": messages / (bare_done - started),
            "listener": messages / (listener_done - started),
            "rss_mb": rss,
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bare-subscriber", nargs=3, metavar=("HOST", "PORT", "N"))
    parser.add_argument("--publisher", nargs=3, metavar=("HOST", "PORT", "N"))
    args = parser.parse_args(argv)
    if args.bare_subscriber:
        host, port, n = args.bare_subscriber
        return run_bare_subscriber(host, int(port), int(n))
    if args.publisher:
        host, port, n = args.publisher
        return run_publisher(host, int(port), int(n))

    sys.path.insert(0, str(REPO))
    print(f"listener ingest: {args.messages} QoS 0 JSON messages, {args.runs} runs, "
          f"{os.cpu_count()} CPUs")
    results = []
    for run in range(1, args.runs + 1):
        result = one_run(args.messages)
        result["ratio"] = result["listener"] / result["bare"]
        results.append(result)
        print(f"  run {run}: publisher {result['publisher']:8.0f} msg/s   bare paho "
              f"{result['bare']:8.0f} msg/s   listener {result['listener']:8.0f} msg/s   "
              f"ratio {result['ratio']:.2f}   listener peak RSS {result['rss_mb']:.1f} MB",
              flush=True)
    best = max(results, key=lambda r: r["ratio"])
    ratios = [r["ratio"] for r in results]
    print(f"best: bare {best['bare']:.0f} msg/s, listener {best['listener']:.0f} msg/s, "
          f"ratio {best['ratio']:.2f} (target >= 0.9); ratio median "
          f"{statistics.median(ratios):.2f}, spread {min(ratios):.2f}-{max(ratios):.2f}; "
          f"peak RSS max {max(r['rss_mb'] for r in results):.1f} MB (target <= 60)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
