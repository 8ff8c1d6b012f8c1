"""OPC UA bridge: value changes per second it forwards and its CPU per change; the latency from
a change on the OPC UA server to the reading stored in InfluxDB (through the broker and the
listener; the floor is the publishing interval plus the listener's flush interval)."""

import sys
import tempfile
import time
from pathlib import Path

import influxdb
import psutil

from bench.figures import percentile, report
from devstack.loop import ROOT, Loop, broker_settings
from devstack.mqtt_probe import Probe
from devstack.servers import Mosquitto, OpcUaServer, Service
from devstack.wait import wait_until

NODES = 200             # Bench.Value<i>, each changing every tick
TICK_MS = 100           # so NODES * 1000 / TICK_MS changes per second offered
SECONDS = 10
PUBLISHING_MS = 100
STEPS = 40


def bridge(server, broker, nodes_yaml, workdir, client_id="opcua-bridge"):
    nodes = Path(workdir) / "nodes.yaml"
    nodes.write_text(nodes_yaml)
    return Service(client_id, [sys.executable, "-m", "opcua_bridge"], workdir=workdir, env={
        "PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": server.endpoint, "OPCUA_NODES": str(nodes),
        "OPCUA_CLIENT_ID": client_id, "OPCUA_LOG_LEVEL": "WARNING",
        "OPCUA_HEARTBEAT": str(Path(workdir) / "heartbeat"),
        "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port)})


def throughput():
    nodes = "".join(f'  - {{node: "ns=2;s=Bench.Value{i}", device: bench, measurement: v{i}}}\n'
                    for i in range(NODES))
    offered = NODES * 1000 / TICK_MS
    print(f"  {NODES} nodes changing every {TICK_MS} ms ({offered:.0f} changes/s offered), "
          f"publishing interval {PUBLISHING_MS} ms, {SECONDS} s")
    with tempfile.TemporaryDirectory(prefix="bench-opcua-") as workdir, \
            Mosquitto(config=broker_settings()) as broker, \
            OpcUaServer(security="none", bench_nodes=NODES, rate_ms=TICK_MS) as server, \
            Probe(broker.host, broker.port, ["sensors/bench/#"]) as probe:
        service = bridge(server, broker, f"publishing_interval_ms: {PUBLISHING_MS}\n"
                         f"sampling_interval_ms: {TICK_MS}\nnodes:\n{nodes}", workdir)
        with service:
            wait_until(lambda: len(probe.received()) > offered, 60)
            process = psutil.Process(service.process.pid)
            cpu_before, count_before = process.cpu_times(), len(probe.received())
            started = time.perf_counter()
            wait_until(lambda: time.perf_counter() - started >= SECONDS, SECONDS + 5,
                       interval=0.1)
            cpu_after, count_after = process.cpu_times(), len(probe.received())
            elapsed = time.perf_counter() - started
    changes = count_after - count_before
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    report("changes forwarded per second", changes / elapsed, "/s", f"all {offered:.0f}")
    report("bridge CPU per change", cpu / max(changes, 1) * 1e6, "µs")
    report("bridge CPU", cpu / elapsed * 100, "% of one core")


def stored_at(client, value):
    """The stored time (epoch s) of the user1 reading with `value`, or None."""
    try:
        points = list(client.query('SELECT "value" FROM "user1" WHERE "value" = $v',
                                   bind_params={"v": float(value)}, epoch="ms").get_points())
    except (OSError, influxdb.exceptions.InfluxDBClientError):
        return None
    return points[0]["time"] / 1000 if points else None


def latency():
    print(f"  server change (User1 written) -> stored in InfluxDB, {STEPS} changes, publishing "
          f"interval {PUBLISHING_MS} ms, listener flush interval 0.5 s (its default)")
    nodes = (f"publishing_interval_ms: {PUBLISHING_MS}\nsampling_interval_ms: 0\nnodes:\n"
             '  - {node: "ns=2;s=Simulation Examples.Functions.User1", device: bench, '
             "measurement: user1}\n")
    seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-opcua-") as workdir, \
            Loop(parts={"listener"}) as loop, \
            OpcUaServer(security="none", rate_ms=1000) as server:
        with bridge(server, loop.broker, nodes, workdir):
            client = influxdb.InfluxDBClient(loop.influx.host, loop.influx.port, database="iot")
            wait_until(lambda: stored_at(client, 0.0) is not None, 60)
            for step in range(1, STEPS + 1):
                written = time.time()
                server.send(f"set User1 {step}")
                stored = wait_until(lambda s=step: stored_at(client, s), 30, interval=0.005)
                seen = time.time()
                # The point's time is the source timestamp: when the server changed the value.
                seconds.append(seen - stored if stored >= written - 1 else seen - written)
            client.close()
    ms = [s * 1000 for s in seconds]
    report("change -> stored, median", percentile(ms, 0.5), "ms")
    report("change -> stored, p99", percentile(ms, 0.99), "ms")


def main():
    print("OPC UA bridge: throughput and CPU, then change-to-stored latency")
    throughput()
    latency()


if __name__ == "__main__":
    main()
