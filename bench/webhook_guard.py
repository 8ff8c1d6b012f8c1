"""The webhook's HTTP guards under attack, on the real `python -m webhook` (waitress) and broker
(docs/security.md): how fast passwords can be guessed, what attackers with any Basic
credentials cost `/alert`, and `/alert` during a slowloris.

    python3 -m bench.webhook_guard [--seconds 10]

Prints: password checks per second per endpoint from one address, and for one user from 50
addresses; `/alert` p50/p95 with 0, 4, 16 and 160 attacker connections posting /ingest with
unknown users (each from its own address, the attacker's best case); `/alert` p50/p95 with 510
slow connections open.
"""

import argparse
import base64
import http.client
import json
import multiprocessing
import secrets
import socket
import sys
import threading
import time

from bench.figures import percentile
from devstack.paths import ROOT
from devstack.servers import Mosquitto, Service, free_port, port_open
from devstack.wait import wait_until

GRAFANA = ("grafana", "bench-grafana-password-0123456789")
ACK = ("operator", "bench-ack-password-0123456789")
INGEST = ("plc-1", "bench-ingest-password-0123456789")
ALERT = json.dumps({"receiver": "webhook", "status": "firing", "groupLabels": {},
                    "alerts": [{"status": "firing", "labels": {"alertname": "Pot high"},
                                "fingerprint": "f1"}]}).encode()


def headers(auth):
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def connection(port, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(source, 0))
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def request(conn, path, auth, body=b"{}"):
    conn.request("POST", path, body=body, headers=headers(auth))
    answer = conn.getresponse()
    answer.read()
    return answer.status


def guess(port, path, user, source, stop, statuses):
    conn = connection(port, source)
    while not stop.is_set():
        try:
            statuses.append(request(conn, path, (user, secrets.token_hex(8))))
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = connection(port, source)


def _attacker(port, threads, seconds, results):
    stop, statuses = threading.Event(), []
    workers = [threading.Thread(target=guess, args=(port, *spec, stop, statuses), daemon=True)
               for spec in threads]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(30)
    results.put(statuses)


class Attack:
    """`threads` guessers, each (path, user, source), in a process of their own (so that they
    do not slow the measuring client down), for `seconds`."""

    def __init__(self, port, threads, seconds):
        self.results = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_attacker, daemon=True,
                                               args=(port, threads, seconds, self.results))
        self.process.start()

    def statuses(self):
        statuses = self.results.get(timeout=120)
        self.process.join(30)
        return statuses


def attack(port, threads, seconds):
    """The statuses of `threads` guessers, each (path, user, source), for `seconds`."""
    return Attack(port, threads, seconds).statuses()


def alert_latencies(port, count=40):
    conn = connection(port)
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        status = request(conn, "/alert", GRAFANA, ALERT)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"/alert answered {status}")
    conn.close()
    return latencies


def p50_p95(latencies):
    return (f"{percentile(latencies, 0.5) * 1000:.1f} / "
            f"{percentile(latencies, 0.95) * 1000:.1f} ms")


def run(seconds):
    with Mosquitto() as broker:
        port = free_port()
        env = {"MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
               "WEBHOOK_USERNAME": GRAFANA[0], "WEBHOOK_PASSWORD": GRAFANA[1],
               "ACK_USERNAME": ACK[0], "ACK_PASSWORD": ACK[1],
               "INGEST_USERNAME": INGEST[0], "INGEST_PASSWORD": INGEST[1],
               "INGEST_OUTBOX_DIR": str(broker.workdir / "outbox"),
               "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port),
               "WEBHOOK_LOG_LEVEL": "ERROR", "PYTHONPATH": str(ROOT)}
        with Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                     ready=lambda: port_open(port)) as service:
            wait_until(lambda: request(connection(port), "/alert", GRAFANA, ALERT) == 200, 15)
            print(f"guessing for {seconds:g} s each; a burst of 10, then 4 a minute:")
            statuses = attack(port, [("/ingest", INGEST[0], f"127.0.3.{i + 1}")
                                     for i in range(50)], seconds)
            checked = statuses.count(401)
            print(f"  /ingest, one user from 50 addresses: {checked} passwords checked, "
                  f"{statuses.count(429)} answered 429")
            for i, (path, user) in enumerate([("/alert", "someone"), ("/ack/pot-high", "other"),
                                              ("/ingest", "third")]):
                statuses = attack(port, [(path, user, f"127.0.2.{i + 1}")] * 4, seconds)
                print(f"  {path:15} from one address: {statuses.count(401)} passwords checked, "
                      f"{statuses.count(429)} answered 429")
            right = request(connection(port, "127.0.2.3"), "/ingest", INGEST,
                            json.dumps({"device": "plc-1", "measurement": "t",
                                        "value": 1}).encode())
            print(f"  the right password from the guessing address: {right}")

            print("/alert p50 / p95 with attacker connections posting /ingest, unknown users, "
                  "each from its own address:")
            for attackers in (0, 4, 16, 160):
                running = Attack(port, [("/ingest", f"nobody-{n}",
                                         f"127.1.{n // 200}.{n % 200 + 1}")
                                        for n in range(attackers)], 6) if attackers else None
                time.sleep(1)
                latencies = alert_latencies(port)
                statuses = running.statuses() if running else []
                print(f"  {attackers:3} attackers: {p50_p95(latencies)} "
                      f"({statuses.count(401)} checked, {statuses.count(429)} answered 429)")

            slow = []
            for _ in range(510):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                source_address=("127.0.4.1", 0))
                sock.sendall(b"POST /alert HTTP/1.1\r\nHost: webhook\r\n")
                slow.append(sock)
            latencies = alert_latencies(port, 10)
            print(f"/alert p50 / p95 with 510 slow connections open: {p50_p95(latencies)}")
            for sock in slow:
                sock.close()
            service.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    run(parser.parse_args(argv).seconds)


if __name__ == "__main__":
    main()
