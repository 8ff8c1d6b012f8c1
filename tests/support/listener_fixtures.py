"""Fixtures that run the real `python -m listener` against the harness's mosquitto and InfluxDB,
shared by the listener and ingest tests (a plugin listed in tests/conftest.py). A folder whose
tests run the listener overrides `mosquitto` with `tests.support.listener.BROKER_CONFIG`."""

import uuid

import pytest
from influxdb import InfluxDBClient

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from tests.support.influx import DATABASE
from tests.support.listener import RunningListener


@pytest.fixture
def status_probe(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["status/#"]) as probe:
        yield probe


@pytest.fixture
def listener_env(mosquitto, influxdb, tmp_path):
    def env(name, **overrides):
        values = {
            "PYTHONPATH": str(ROOT),
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
def db(influxdb):
    client = InfluxDBClient(influxdb.host, influxdb.port, database=DATABASE, timeout=5)
    yield client
    client.close()


@pytest.fixture
def publisher(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, client_id=f"pub-{uuid.uuid4().hex[:6]}") as probe:
        yield probe
