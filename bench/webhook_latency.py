"""Webhook latency: authenticated POSTs alternating firing/resolved over one keep-alive HTTP
connection to the real `python -m webhook` (waitress), each answered only after the broker's
QoS 1 PUBACK. Prints p50, p99 and requests/s. Target: p99 <= 5 ms on loopback.

    python3 -m bench.webhook_latency [--requests 1000] [--hmac]

`--hmac` signs as the shipped contact point does: `<timestamp>:<body>`, timestamp checked.
"""

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import sys
import time

from bench.figures import grafana_bodies, percentile, report, report_latencies
from devstack.paths import ROOT
from devstack.servers import Mosquitto, Service, free_port, port_open
from devstack.wait import wait_until
from webhook.auth import sign

USER, PASSWORD, SECRET = "bench", "bench-password", "bench-hmac-secret"
TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"


def run(requests, use_hmac):
    with Mosquitto() as broker:
        port = free_port()
        env = {
            "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "WEBHOOK_USERNAME": USER, "WEBHOOK_PASSWORD": PASSWORD,
            "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port),
            "WEBHOOK_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
            # BENCH_STATE_DIR=/dev/shm/... shows the cost without the state file's fsync.
            "WEBHOOK_STATE_DIR": os.environ.get("BENCH_STATE_DIR",
                                                str(broker.workdir / "webhook-state")),
        }
        if use_hmac:
            env["WEBHOOK_HMAC_SECRET"] = SECRET
            env["WEBHOOK_HMAC_TIMESTAMP_HEADER"] = TIMESTAMP_HEADER
        with Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                     ready=lambda: port_open(port)) as service:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            bodies = [json.dumps(body).encode() for body in grafana_bodies()]

            def post(body):
                headers = {"Authorization": f"Basic {token}",
                           "Content-Type": "application/json"}
                if use_hmac:
                    stamp = str(int(time.time()))
                    headers[TIMESTAMP_HEADER] = stamp
                    headers["X-Grafana-Alerting-Signature"] = sign(SECRET, body, stamp)
                connection.request("POST", "/alert", body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                if answer.status != 200 or not json.loads(data)["published"]:
                    raise RuntimeError(f"unexpected answer {answer.status}: {data[:200]!r}")

            def healthy():
                connection.request("GET", "/healthz")
                answer = connection.getresponse()
                answer.read()
                return answer.status == 200

            wait_until(healthy, 15, message="webhook not healthy")
            for i in range(50):  # warm-up: imports, first publishes, TCP windows
                post(bodies[i % 2])
            latencies = []
            started = time.perf_counter()
            for i in range(requests):
                t0 = time.perf_counter()
                post(bodies[i % 2])
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - started
            connection.close()
            service.stop()
    return latencies, {
        "requests": requests,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "requests_per_s": requests / elapsed,
    }


def main(argv=()):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--hmac", action="store_true", help="also sign every request")
    args = parser.parse_args(list(argv))
    latencies, figures = run(args.requests, args.hmac)
    report_latencies("webhook POST answered after PUBACK", latencies, target_p99_ms=5)
    report("webhook requests/s (one keep-alive connection)", figures["requests_per_s"], "req/s")
    verdict = "meets" if figures["p99_ms"] <= 5.0 else "MISSES"
    print(f"webhook latency ({figures['requests']} POSTs, firing/resolved alternating, "
          f"QoS 1 acked{', HMAC' if args.hmac else ''}): "
          f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
          f"max {figures['max_ms']:.2f} ms, {figures['requests_per_s']:.0f} requests/s "
          f"({verdict} the p99 <= 5 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
