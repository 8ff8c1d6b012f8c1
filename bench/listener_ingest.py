"""What ingesting a reading costs: the listener against a bare paho subscriber, one at a time.

    python -m bench.listener_ingest [--messages 20000] [--runs 3] [--qos 0 1]
                                    [--publishers 2] [--rate 2000] [--no-busy] [--profile]

Measured the way a Pi pays for it. One mosquitto (the deployed max_inflight_messages) and one
InfluxDB serve every run. For each QoS, each consumer in turn (never both at once) subscribes,
then `--publishers` publisher processes send the same set of JSON readings, together at `--rate`
readings/s (0: as fast as they can, a backlog the consumer works through in large reads), while
a spinning process keeps one core busy with other work (`--no-busy` leaves it idle). The bare
subscriber only json-parses each message (paho acknowledges QoS 1 at once); the listener
(`python -m listener`, the deployed LISTENER_MAX_UNACKED, LISTENER_BROKER_STATS=false) parses,
batches, writes to InfluxDB and acknowledges after the write. Main figure: the consumer's
process CPU time (user + sys) per reading, from the first publish to its last reading parsed
(bare) or stored (listener); beside it how often the consumer slept and woke (voluntary context
switches of all its threads) per reading, influxd's CPU per stored reading, throughput and peak
RSS. Medians of `--runs` runs. `--profile` also samples one listener run with py-spy
(`pip install py-spy`) and says where its time goes.
"""

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

from devstack.paths import ROOT

TOPIC = "sensors/bench-{}/pot"
DEVICES = 4
TARGET_RATIO = 1.2


def deployed_window():
    """max_inflight_messages of the deployed broker config (= LISTENER_MAX_UNACKED in compose)."""
    conf = (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text()
    return int(re.search(r"(?m)^max_inflight_messages (\d+)$", conf).group(1))


def broker_config(window):
    # Unbounded queues: a burst the consumer is still working through must not be dropped.
    return (f"max_queued_messages 0\nmax_queued_bytes 0\nset_tcp_nodelay true\n"
            f"max_inflight_messages {window}\n")


def payload(i, base_ms):
    """Reading i goes to device i % DEVICES, which counts its own readings as a board does."""
    return json.dumps({"value": i % 4096, "ts": base_ms + i, "seq": i // DEVICES})


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


# --- child processes ---------------------------------------------------------------------------

def run_bare_subscriber(host, port, messages, qos):
    """Count and json-parse every message; print `first` and `done` with their times."""
    import paho.mqtt.client as mqtt

    state = {"count": 0}

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe("sensors/+/+", qos=qos)

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


def run_publisher(host, port, messages, qos, rate=0.0, part=0, parts=1):
    """Publish readings part, part + parts, ... of `messages`, at `rate` readings/s (0: as fast
    as one paho client can), after a `go` line on standard input; print the start time."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-publisher-{part}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port, 60)
    client.loop_start()
    base_ms = int(time.time() * 1000) - messages - 60_000
    topics = [TOPIC.format(d) for d in range(DEVICES)]
    mine = range(part, messages, parts)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    print(f"start {time.time()}", flush=True)
    info = None
    for n, i in enumerate(mine):
        if rate and n % 10 == 0:
            ahead = started + n / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        info = client.publish(topics[i % DEVICES], payload(i, base_ms), qos=qos)
    if info is not None:
        info.wait_for_publish(300)
    client.publish("bench/end", b"", qos=1).wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def spin():
    """Other work: keep one core busy until killed."""
    with suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})
    while True:
        pass


# --- measuring -----------------------------------------------------------------------------------

def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wakes(pid):
    """Voluntary context switches of all of a process's threads: how often it slept and woke."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(process):
    times = process.cpu_times()
    return times.user + times.system


def read_line(process, prefix, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{process.args} ended before printing {prefix!r}")
        if line.startswith(prefix):
            return line.split()[1] if " " in line.strip() else ""
    raise TimeoutError(f"no {prefix!r} from {process.args}")


class Bench:
    def __init__(self, broker, influx, folder, messages, publishers=2, rate=0.0):
        self.broker, self.influx, self.folder, self.messages = broker, influx, folder, messages
        self.publishers, self.rate = publishers, rate
        import psutil
        self.influxd = psutil.Process(influx.process.pid)

    def child(self, role, qos, *extra):
        return subprocess.Popen(
            [sys.executable, "-m", "bench.listener_ingest", f"--{role}", self.broker.host,
             str(self.broker.port), str(self.messages), str(qos), *map(str, extra)],
            cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
            start_new_session=True)

    def measure(self, consumer_pid, wait_done, qos):
        """Publish the set; CPU of the consumer and influxd until `wait_done()` returns."""
        import psutil
        consumer = psutil.Process(consumer_pid)
        publishers = [self.child("publisher", qos, self.rate / self.publishers, part,
                                 self.publishers) for part in range(self.publishers)]
        try:
            for publisher in publishers:
                read_line(publisher, "ready", 20)
            cpu_before, influx_before = cpu_seconds(consumer), cpu_seconds(self.influxd)
            wakes_before = wakes(consumer_pid)
            for publisher in publishers:
                publisher.stdin.write("go\n")
                publisher.stdin.flush()
            started = min(float(read_line(p, "start", 20)) for p in publishers)
            wait_done()
            elapsed = time.time() - started
            cpu, influx_cpu = cpu_seconds(consumer), cpu_seconds(self.influxd)
            woke = wakes(consumer_pid) - wakes_before
            rss = peak_rss_mb(consumer_pid)
        finally:
            for publisher in publishers:
                publisher.wait(300)
        return {"cpu_us": (cpu - cpu_before) / self.messages * 1e6,
                "influx_us": (influx_cpu - influx_before) / self.messages * 1e6,
                "wakes": woke / self.messages, "rate": self.messages / elapsed, "rss_mb": rss}

    def bare(self, qos, run):
        bare = self.child("bare-subscriber", qos)
        try:
            read_line(bare, "ready", 20)
            result = self.measure(bare.pid, lambda: read_line(bare, "done", 600), qos)
        finally:
            bare.kill()
            bare.wait()
        result["influx_us"] = None
        return result

    def listener(self, qos, run, profile=None):
        from influxdb import InfluxDBClient

        from devstack.mqtt_probe import Probe
        from devstack.servers import Service
        from devstack.wait import wait_until

        name = f"bench-listener-q{qos}-r{run}"
        database = name.replace("-", "_")
        env = {"PYTHONPATH": str(ROOT), "MQTT_HOST": self.broker.host,
               "MQTT_PORT": str(self.broker.port), "INFLUXDB_URL": self.influx.url,
               "INFLUXDB_DATABASE": database, "LISTENER_CLIENT_ID": name,
               "LISTENER_QOS": str(qos), "LISTENER_MAX_UNACKED": str(self.window),
               "LISTENER_SPOOL_DIR": f"{self.folder}/{name}",
               "LISTENER_DOWNSAMPLE_INTERVAL": "", "LISTENER_LOG_LEVEL": "WARNING",
               "LISTENER_BROKER_STATS": "false"}
        with Probe(self.broker.host, self.broker.port, [f"status/{name}"]) as status:
            listener = Service(name, [sys.executable, "-m", "listener"], env=env,
                               ready=lambda: status.last(f"status/{name}") == b"online",
                               workdir=f"{self.folder}/run-{name}")
            listener.start()
        db = InfluxDBClient(self.influx.host, self.influx.port, database=database, timeout=10)
        try:
            wait_until(lambda: any(d["name"] == database for d in db.get_list_database()), 20)
            # Counted in InfluxDB (its CPU, not the listener's): the listener runs with its
            # deployed settings, LISTENER_STATS_INTERVAL included.
            def stored():
                found = list(db.query("SELECT count(value) FROM pot").get_points())
                return found and found[0]["count"] >= self.messages

            def done():
                wait_until(stored, 600, interval=0.1, message="the listener did not store all")

            sampler = profile and subprocess.Popen(
                [py_spy(), "record", "--pid", str(listener.process.pid), "--format", "raw",
                 "--rate", "1000", "--output", profile, "--gil"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result = self.measure(listener.process.pid, done, qos)
            if sampler:
                sampler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
                sampler.wait(30)
            [row] = db.query("SELECT count(value) FROM pot").get_points()
            assert row["count"] == self.messages, f"stored {row['count']} of {self.messages}"
        finally:
            listener.close()
            db.close()
        return result


def py_spy():
    """py-spy of this virtualenv, where `pip install py-spy` puts it (never one found on PATH)."""
    found = Path(sys.executable).with_name("py-spy")
    if not found.exists():
        raise SystemExit(f"--profile needs py-spy: {sys.executable} -m pip install py-spy")
    return str(found)


def where_time_goes(raw_file):
    """Shares of py-spy's samples (threads holding the GIL) by the innermost frame's module."""
    groups = Counter()
    for line in Path(raw_file).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        function, _, place = stack.split(";")[-1].partition(" (")
        if place.startswith("paho/"):
            group = "paho-mqtt"
        elif place.startswith(("listener/", "service_common/")):
            group = f"listener (own code): {function}"
        elif place.startswith(("requests/", "urllib3/", "http/", "influxdb/", "socket.py")):
            group = "HTTP to InfluxDB (requests, urllib3, http.client)"
        elif place.startswith("json/"):
            group = "json"
        else:
            group = f"other: {function} ({place.split(':')[0]})"
        groups[group] += int(count)
    total = sum(groups.values()) or 1
    own = sum(n for g, n in groups.items() if g.startswith("listener"))
    print(f"  where the listener's CPU goes ({total} py-spy samples holding the GIL, by "
          "innermost frame):")
    print(f"    {'listener (own code), all':<60} {100 * own / total:5.1f} %")
    for group, n in groups.most_common(14):
        print(f"    {group[:60]:<60} {100 * n / total:5.1f} %")


def median(results, key):
    values = [r[key] for r in results if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def main(argv=()):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--qos", type=int, nargs="+", default=[0, 1], choices=[0, 1])
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=2000.0,
                        help="readings/s of all publishers together; 0: as fast as they can")
    parser.add_argument("--no-busy", action="store_true", help="no spinning process")
    parser.add_argument("--window", type=int, default=None,
                        help="max_inflight_messages = LISTENER_MAX_UNACKED (default: deployed)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--bare-subscriber", nargs=4, metavar=("HOST", "PORT", "N", "QOS"))
    parser.add_argument("--publisher", nargs=7,
                        metavar=("HOST", "PORT", "N", "QOS", "RATE", "PART", "PARTS"))
    parser.add_argument("--spin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv))
    args.window = args.window or deployed_window()
    if args.spin:
        return spin()
    if args.bare_subscriber:
        host, port, n, qos = args.bare_subscriber
        return run_bare_subscriber(host, int(port), int(n), int(qos))
    if args.publisher:
        host, port, n, qos, rate, part, parts = args.publisher
        return run_publisher(host, int(port), int(n), int(qos), float(rate), int(part),
                             int(parts))

    rate = f"{args.rate:.0f} readings/s" if args.rate else "as fast as they can"
    print(f"listener ingest: {args.messages} JSON readings per run from {args.publishers} "
          f"publisher processes at {rate}, one consumer at a time, "
          f"{'no other work' if args.no_busy else 'one core kept busy by a spinning process'}, "
          f"medians of {args.runs} runs; broker window (max_inflight_messages = "
          f"LISTENER_MAX_UNACKED) {args.window}")
    print(f"machine: {machine()}")
    spinner = None if args.no_busy else subprocess.Popen(
        [sys.executable, "-m", "bench.listener_ingest", "--spin"], cwd=ROOT,
        start_new_session=True)
    try:
        return measure_all(args, folder_prefix="bench-listener-")
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def measure_all(args, folder_prefix):
    from devstack.servers import InfluxDB, Mosquitto

    with Mosquitto(config=broker_config(args.window)) as broker, InfluxDB() as influx, \
            tempfile.TemporaryDirectory(prefix=folder_prefix) as folder:
        bench = Bench(broker, influx, folder, args.messages, args.publishers, args.rate)
        bench.window = args.window
        for qos in args.qos:
            bare, listener = [], []
            for run in range(args.runs):  # interleaved, so drift hits both alike
                bare.append(bench.bare(qos, run))
                listener.append(bench.listener(qos, run))
            for name, results in (("bare paho", bare), ("listener", listener)):
                influx_us = median(results, "influx_us")
                influx_text = "" if influx_us != influx_us else \
                    f"   influxd {influx_us:6.1f} µs/reading"
                print(f"  QoS {qos} {name:<10} CPU {median(results, 'cpu_us'):6.1f} µs/message"
                      f"   {median(results, 'wakes'):4.2f} wakes/message{influx_text}"
                      f"   {median(results, 'rate'):8.0f} msg/s   peak RSS "
                      f"{median(results, 'rss_mb'):5.1f} MB   (runs: "
                      + ", ".join(f"{r['cpu_us']:.1f}" for r in results) + " µs)", flush=True)
            ratio = median(listener, "cpu_us") / median(bare, "cpu_us")
            print(f"  QoS {qos} listener CPU per stored reading / bare CPU per parsed message: "
                  f"{ratio:.2f} (target <= {TARGET_RATIO})", flush=True)
        if args.profile:
            raw = os.environ.get("BENCH_PROFILE_FILE", f"{folder}/profile.txt")
            bench.listener(args.qos[-1], "profile", profile=raw)
            where_time_goes(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
