"""HTTP ingest: readings/s from `POST /ingest` to stored in InfluxDB with batches of 1 and of 500
(one keep-alive connection, each request answered after the broker's PUBACKs), the webhook's CPU
per reading, and p50/p99 of a one-reading POST. Real mosquitto, InfluxDB, listener and webhook.

    python3 -m bench.ingest [--single 2000] [--batched 50000]
"""

import argparse
import base64
import http.client
import json
import os
import platform
import socket
import sys
import time

import influxdb
import psutil

from bench.figures import percentile, report, report_latencies
from bench.listener_ingest import machine
from devstack.loop import broker_settings
from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import InfluxDB, Mosquitto, Service, free_port, port_open
from devstack.wait import wait_until

USER, PASSWORD = "bench-plc", "bench-ingest-password"


class Sender:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def post(self, body):
        self.connection.request("POST", "/ingest", body=body, headers=self.headers)
        answer = self.connection.getresponse()
        data = answer.read()
        if answer.status != 202:
            raise RuntimeError(f"unexpected answer {answer.status}: {data[:200]!r}")


def bodies(measurement, readings, batch):
    start = int(time.time() * 1000) - readings - 60_000
    for first in range(0, readings, batch):
        yield json.dumps([{"device": "plc-bench", "measurement": measurement, "value": i,
                           "ts": start + i} for i in range(first, min(first + batch, readings))]
                         ).encode()


def stored(client, measurement):
    try:
        found = list(client.query(f'SELECT count("value") FROM "{measurement}"')  # noqa: S608
                     .get_points())
    except (OSError, influxdb.exceptions.InfluxDBClientError):
        return 0
    return found[0]["count"] if found else 0


def run(sender, db, webhook, measurement, readings, batch):
    """(readings/s posted-to-stored, webhook CPU s per reading, latency of each request)."""
    prepared = list(bodies(measurement, readings, batch))
    cpu_before = sum(webhook.cpu_times()[:2])
    latencies = []
    started = time.perf_counter()
    for body in prepared:
        t0 = time.perf_counter()
        sender.post(body)
        latencies.append(time.perf_counter() - t0)
    cpu = sum(webhook.cpu_times()[:2]) - cpu_before
    wait_until(lambda: stored(db, measurement) >= readings, 300, interval=0.05,
               message=f"{measurement}: not every reading stored")
    elapsed = time.perf_counter() - started
    return readings / elapsed, cpu / readings, latencies


def main(argv=()):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="readings sent one per POST")
    parser.add_argument("--batched", type=int, default=50_000, help="readings sent 500 per POST")
    args = parser.parse_args(list(argv))
    print(f"HTTP ingest to stored, on {platform.node()}: {machine()}, "
          f"{psutil.virtual_memory().total / 2**30:.1f} GB, load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    with Mosquitto(config=broker_settings()) as broker, InfluxDB() as influx:
        port = free_port()
        common = {"MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
                  "PYTHONPATH": str(ROOT)}
        listener_env = {**common, "INFLUXDB_URL": influx.url, "INFLUXDB_DATABASE": "iot",
                        "LISTENER_SPOOL_DIR": str(influx.workdir / "listener-spool"),
                        "LISTENER_LOG_LEVEL": "WARNING"}
        webhook_env = {**common, "WEBHOOK_USERNAME": "grafana",
                       "WEBHOOK_PASSWORD": "bench-grafana-password",
                       "INGEST_USERNAME": USER, "INGEST_PASSWORD": PASSWORD,
                       "INGEST_DEVICES": "plc-*", "WEBHOOK_HOST": "127.0.0.1",
                       "WEBHOOK_PORT": str(port), "WEBHOOK_LOG_LEVEL": "WARNING",
                       "INGEST_OUTBOX_DIR": str(influx.workdir / "ingest-outbox"),
                       "WEBHOOK_STATE_DIR": str(influx.workdir / "webhook-state")}
        with Probe(broker.host, broker.port, ["status/#"]) as probe, \
                Service("listener", [sys.executable, "-m", "listener"], env=listener_env,
                        ready=lambda: probe.last("status/listener") == b"online"), \
                Service("webhook", [sys.executable, "-m", "webhook"], env=webhook_env,
                        ready=lambda: port_open(port)) as webhook_service:
            db = influxdb.InfluxDBClient(influx.host, influx.port, database="iot")
            webhook = psutil.Process(webhook_service.process.pid)
            sender = Sender(port)
            wait_until(lambda: probe.last("status/webhook") == b"online", 15)
            run(sender, db, webhook, "warmup", 200, 1)
            single = run(sender, db, webhook, "single", args.single, 1)
            batched = run(sender, db, webhook, "batched", args.batched, 500)
            sender.connection.close()
            db.close()
    for name, (rate, cpu, _) in (("batch of 1", single), ("batch of 500", batched)):
        report(f"ingest to stored, {name}", rate, "readings/s")
        report(f"webhook CPU per reading, {name}", cpu * 1e6, "us")
    report_latencies("one-reading POST answered after PUBACK", single[2])
    report("500-reading POST answered after PUBACKs p50", percentile(batched[2], 0.5) * 1000,
           "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
