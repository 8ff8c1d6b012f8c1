"""Fixtures that run the real `python -m listener` against the harness's mosquitto and InfluxDB."""

import sys
import uuid
from pathlib import Path

import pytest
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

from devstack.mqtt_probe import Probe
from devstack.servers import Service
from devstack.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
DATABASE = "test"


# The broker settings the README (Listener) recommends (mosquitto's default max_queued_messages of
# 1000 drops the rest of a burst); max_inflight_messages stays at its default of 20 so the
# tests exercise the listener's handling of a small window. $SYS counters every second.
BROKER_CONFIG = """\
max_queued_messages 100000
queue_qos0_messages true
sys_interval 1
"""


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=BROKER_CONFIG)


class RunningListener:
    """One listener process; start/restart/kill wait until it says `online` again."""

    def __init__(self, name, env, probe, workdir):
        self.name = name
        self.status_topic = f"status/{name}"
        self.probe = probe
        self._online_before = 0
        self.spool_dir = Path(env["LISTENER_SPOOL_DIR"])
        self.service = Service(name, [sys.executable, "-m", "listener"], env=env,
                               ready=self._came_online, workdir=workdir)

    def _online_count(self):
        return self.probe.payloads(self.status_topic).count(b"online")

    def _came_online(self):
        return self._online_count() > self._online_before

    def start(self):
        self._online_before = self._online_count()
        self.service.start()
        return self

    def kill(self):
        self.service.kill()

    def stop(self):
        self.service.stop()
        return self.service.returncode

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        return self.service.log_tail(60)


@pytest.fixture
def status_probe(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["status/#"]) as probe:
        yield probe


@pytest.fixture
def listener_env(mosquitto, influxdb, tmp_path):
    def env(name, **overrides):
        values = {
            "PYTHONPATH": str(REPO),
            "MQTT_HOST": mosquitto.host,
            "MQTT_PORT": str(mosquitto.port),
            "INFLUXDB_URL": influxdb.url,
            "INFLUXDB_DATABASE": DATABASE,
            "LISTENER_CLIENT_ID": name,
            "LISTENER_SPOOL_DIR": str(tmp_path / f"spool-{name}"),
            "LISTENER_FLUSH_INTERVAL": "0.1",
            "LISTENER_STATS_INTERVAL": "0.5",
            "LISTENER_LOG_LEVEL": "INFO",
        }
        values.update({key: str(value) for key, value in overrides.items()})
        return values
    return env


@pytest.fixture
def listener_factory(listener_env, status_probe, tmp_path):
    """`listener_factory(name="listener", **env)` starts a listener and stops it afterwards."""
    started = []

    def start(name="listener", **overrides):
        workdir = tmp_path / f"run-{name}"
        running = RunningListener(name, listener_env(name, **overrides), status_probe, workdir)
        started.append(running)
        return running.start()

    yield start
    for running in started:
        running.service.close()


@pytest.fixture
def listener(listener_factory):
    return listener_factory()


@pytest.fixture
def db(influxdb):
    client = InfluxDBClient(influxdb.host, influxdb.port, database=DATABASE, timeout=5)
    yield client
    client.close()


@pytest.fixture
def publisher(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, client_id=f"pub-{uuid.uuid4().hex[:6]}") as probe:
        yield probe


def points(db, query):
    """Rows of `query`; none while the listener has not created the database yet."""
    try:
        return list(db.query(query, epoch="ns").get_points())
    except InfluxDBClientError as error:
        if "database not found" in str(error):
            return []
        raise


def count(db, measurement="pot", field="value"):
    found = points(db, f'SELECT count("{field}") FROM "{measurement}"')  # noqa: S608
    return found[0]["count"] if found else 0


def wait_count(db, expected, measurement="pot", timeout=30, service=None):
    def reached():
        return count(db, measurement) >= expected
    try:
        wait_until(reached, timeout, interval=0.1)
    except TimeoutError:
        services = service if isinstance(service, (list, tuple)) else [service] if service else []
        log = "".join(f"\n{s.name} log:\n{s.log()}" for s in services)
        raise AssertionError(f"{count(db, measurement)} of {expected} {measurement} points "
                             f"stored{log}") from None
    return count(db, measurement)


def latest_stats(db, client_id="listener"):
    query = f"SELECT * FROM listener_stats WHERE client_id = '{client_id}'"  # noqa: S608
    found = points(db, query + " ORDER BY time DESC LIMIT 1")
    return found[0] if found else {}
