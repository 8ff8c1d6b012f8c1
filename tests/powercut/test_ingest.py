"""A power cut just after `POST /ingest` answered 202 (issue 19): every process of the native
stack (mosquitto with the deployed persistence settings, InfluxDB, the listener, the webhook)
killed with SIGKILL at the same moment, then started again from the same data folders. Nothing
that was answered 202 may be lost: the webhook's outbox (webhook/ingest_outbox.py) publishes it
again, and readings carry `ts`, so nothing is stored twice either."""

import os
import signal
import sys
import time
import urllib.error
import urllib.request

import pytest
from influxdb import InfluxDBClient

from devstack.paths import ROOT
from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from tests.support.influx import DATABASE, points
from tests.support.ingest import ingest_env, outbox_dir
from tests.support.ingest import post_url as post
from tests.support.listener import BROKER_CONFIG
from tests.support.webhook import webhook_env

SHIPPED = ROOT / "mosquitto" / "config" / "mosquitto.conf"
PERSISTENCE = ("persistence ", "autosave_interval", "autosave_on_changes")
REQUESTS, READINGS = 20, 10  # one reading without ts in each request, the others with


def deployed_persistence():
    """The shipped broker config's persistence lines: they come after the harness's, so they
    win over its autosave_interval 1."""
    return "\n".join(line for line in SHIPPED.read_text().splitlines()
                     if line.startswith(PERSISTENCE))


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=BROKER_CONFIG + deployed_persistence())


class Stack:
    """The native stack's processes, killed together and started again in place."""

    def __init__(self, mosquitto, influxdb, tmp_path):
        self.mosquitto, self.influxdb = mosquitto, influxdb
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.listener = Service("listener", [sys.executable, "-m", "listener"], env={
            "PYTHONPATH": str(ROOT), "MQTT_HOST": mosquitto.host, "MQTT_PORT": str(mosquitto.port),
            "INFLUXDB_URL": influxdb.url, "INFLUXDB_DATABASE": DATABASE,
            "LISTENER_CLIENT_ID": "listener", "LISTENER_SPOOL_DIR": str(tmp_path / "spool"),
        }, ready=lambda: True, workdir=tmp_path / "listener")
        env = webhook_env(mosquitto, WEBHOOK_PORT=port, PYTHONPATH=ROOT,
                          **ingest_env(INGEST_OUTBOX_DIR=outbox_dir()))
        self.webhook = Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                               ready=lambda: port_open(port), port=port,
                               workdir=tmp_path / "webhook")

    @property
    def processes(self):
        return [self.mosquitto, self.influxdb, self.listener, self.webhook]

    def start(self):
        for process in self.processes:
            process.start()
        wait_until(self.healthy, 30, message=f"webhook not ready:\n{self.webhook.log_tail()}")

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as answer:  # noqa: S310
                return answer.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def power_cut(self):
        """SIGKILL to every process, one right after the other: nothing gets to save."""
        running = [p.process for p in self.processes if p.running]
        for process in running:
            os.killpg(process.pid, signal.SIGKILL)
        for process in running:
            process.wait(10)

    def close(self):
        for process in (self.webhook, self.listener):
            process.close()


@pytest.fixture
def stack(mosquitto, influxdb, tmp_path):
    stack = Stack(mosquitto, influxdb, tmp_path)
    yield stack
    stack.close()


def test_nothing_answered_202_is_lost_in_a_power_cut(stack, influxdb):
    stack.start()
    first_ts = int(time.time() * 1000) - 60_000
    sent = 0
    for r in range(REQUESTS):
        batch = [{"device": "plc-1", "measurement": "flow", "value": r * READINGS + i,
                  "ts": first_ts + r * READINGS + i} for i in range(READINGS - 1)]
        batch.append({"device": "plc-2", "measurement": "flow", "value": r})  # no ts
        assert post(stack.url, batch) == 202
        sent += len(batch)
    stack.power_cut()  # just after the last 202
    stack.start()
    db = InfluxDBClient(influxdb.host, influxdb.port, database=DATABASE, timeout=5)
    try:
        def stored():
            rows = points(db, 'SELECT "value" FROM "flow" GROUP BY "device"')
            return len(rows)

        wait_until(lambda: stored() >= sent, 60, interval=0.5,
                   message=f"stored {stored()} of {sent} readings answered 202\n"
                           f"{stack.webhook.log_tail()}\n{stack.listener.log_tail()}")
        with_ts = points(db, "SELECT \"value\" FROM \"flow\" WHERE \"device\" = 'plc-1'")
        without_ts = points(db, "SELECT \"value\" FROM \"flow\" WHERE \"device\" = 'plc-2'")
        assert sorted(row["value"] for row in with_ts) == sorted(
            float(r * READINGS + i) for r in range(REQUESTS) for i in range(READINGS - 1))
        assert sorted(row["value"] for row in without_ts) == [float(r) for r in range(REQUESTS)]
    finally:
        db.close()
