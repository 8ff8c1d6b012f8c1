"""The operator console under load: `python -m console` against a real mosquitto.

- First load of the alarm page with 500 active alarms and 200 series known (login done; the
  first GET after it, then the median of 10 more), target <= 1 s.
- A new alarm's latency: from the retained `.../info` publish to the live stream of an open page
  carrying it (p50, p99).
- The console's CPU while 20 pages are open (10 on the alarms, 10 on the live values) and 100
  readings/s flow for 20 s: CPU seconds per wall second, and per reading.
"""

import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
import requests

from bench.figures import percentile, report, report_latencies
from console.tokens import add_token
from console.users import add_user
from devstack.paths import ROOT
from devstack.servers import Mosquitto, Service, free_port, port_open
from devstack.wait import wait_until

ALARMS = 500
SERIES = 200
PAGES = 20
RATE = 100  # readings per second
FLOW_S = 20
LATENCY_ROUNDS = 30
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user of a throwaway console


def _publisher(broker):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-console-pub")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _info(alert, device, state="unacked"):
    now = time.time_ns() // 1_000_000
    return json.dumps({"alert": alert, "device": device, "active": True, "state": state,
                       "since": now, "fired_at": now, "value": 93.5, "threshold": 80.0,
                       "summary": f"{alert} on {device}", "acked_by": None, "shelved": None})


def _login(url):
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{url}/login", data={"username": "bench", "password": PASSWORD,
                                                "csrf_token": token}, allow_redirects=False,
                          timeout=10)
    assert answer.status_code == 302, answer.status_code
    return session


class Stream(threading.Thread):
    """One open page: reads its live stream and notes when each line arrived."""

    def __init__(self, session, url):
        super().__init__(daemon=True)
        self.response = session.get(url, stream=True, timeout=60)
        self.lines = []
        self.lock = threading.Lock()

    def run(self):
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                with self.lock:
                    self.lines.append((time.perf_counter(), line))
        except (requests.RequestException, AttributeError, ValueError):
            pass

    def seen(self, text, after):
        with self.lock:
            return next((t for t, line in self.lines if t >= after and text in line), None)

    def close(self):
        self.response.close()


def main():
    print(f"console: {ALARMS} alarms, {SERIES} series; {PAGES} open pages, {RATE} readings/s")
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder, Mosquitto() as broker:
        users, tokens = Path(folder) / "users.json", Path(folder) / "tokens.json"
        add_user(users, "bench", "operator", PASSWORD)
        token = add_token(tokens, "bench")
        port = free_port()
        console = Service("console", [sys.executable, "-m", "console"], env={
            "PYTHONPATH": str(ROOT), "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "CONSOLE_SECRET_KEY": "bench-secret-key-" + "x" * 32, "CONSOLE_PORT": str(port),
            "CONSOLE_USERS_FILE": str(users), "CONSOLE_TOKENS_FILE": str(tokens),
            "CONSOLE_COOKIE_SECURE": "false", "CONSOLE_LOG_LEVEL": "WARNING",
            "INFLUXDB_URL": "http://127.0.0.1:9"}, ready=lambda: port_open(port), port=port)
        with console:
            url = f"http://localhost:{port}"
            publisher = _publisher(broker)
            try:
                _run(url, token, publisher, psutil.Process(console.process.pid))
            finally:
                publisher.loop_stop()
                publisher.disconnect()


def _run(url, token, publisher, process):
    for i in range(ALARMS):
        publisher.publish(f"alerts/bench-{i // 10}/dev{i % 10}/info",
                          _info(f"bench-{i // 10}", f"dev{i % 10}"), qos=1, retain=True)
    for i in range(SERIES):
        publisher.publish(f"sensors/bench{i // 10}/m{i % 10}", str(i), qos=1)
    api = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: len(requests.get(f"{url}/api/alarms", headers=api, timeout=10)
                           .json()["alarms"]) == ALARMS, 60, interval=0.2,
               message="the console did not list every alarm")
    session = _login(url)
    start = time.perf_counter()
    page = session.get(f"{url}/", timeout=10)
    first = time.perf_counter() - start
    assert page.status_code == 200 and page.text.count('data-alarm="') == ALARMS
    loads = []
    for _ in range(10):
        start = time.perf_counter()
        session.get(f"{url}/", timeout=10)
        loads.append(time.perf_counter() - start)
    report("alarm page, first load (500 alarms)", first * 1000, "ms", "<= 1000 ms")
    report("alarm page, median of 10 loads", statistics.median(loads) * 1000, "ms")
    report("alarm page size", len(page.content) / 1024, "KiB")

    watcher = Stream(session, f"{url}/events/alarms")
    watcher.start()
    latencies = []
    for i in range(LATENCY_ROUNDS):
        ident = f"bench-new-{i}"
        start = time.perf_counter()
        publisher.publish(f"alerts/{ident}/devx/info", _info(ident, "devx"), qos=1, retain=True)
        wait_until(lambda ident=ident, start=start: watcher.seen(f'"{ident}/devx"', start), 10,
                   interval=0.001, message=f"{ident} never reached the open page")
        latencies.append(watcher.seen(f'"{ident}/devx"', start) - start)
        time.sleep(0.2)  # one change at a time, as alarms come
    watcher.close()
    report_latencies("new alarm -> open page", latencies, 1000)

    pages = [Stream(_login(url), f"{url}/events/{'alarms' if i % 2 else 'values'}")
             for i in range(PAGES)]
    for page_stream in pages:
        page_stream.start()
    time.sleep(1.0)  # the pages' first renders, not counted
    before, start = process.cpu_times(), time.perf_counter()
    sent = 0
    while time.perf_counter() - start < FLOW_S:
        due = int((time.perf_counter() - start) * RATE)
        while sent < due:
            publisher.publish(f"sensors/bench{sent % 20}/m{sent % 10}", str(sent % 997), qos=0)
            sent += 1
        time.sleep(0.002)
    wall = time.perf_counter() - start
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    renders = [sum(1 for _, line in p.lines if line == "event: update") for p in pages]
    for page_stream in pages:
        page_stream.close()
    report(f"console CPU, {PAGES} pages, {RATE} readings/s", 100 * cpu / wall, "% of a core")
    report("console CPU per reading", cpu / max(sent, 1) * 1e6, "µs")
    report("renders per values page per s", percentile(renders[0::2], 0.5) / wall, "/s")
    report("console RSS", process.memory_info().rss / 2**20, "MiB")


if __name__ == "__main__":
    main()
