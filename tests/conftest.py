"""Fixtures that start real servers: a mosquitto broker and an InfluxDB 1.x, each on a free
loopback port with its data in a temporary folder, stopped and removed afterwards.

Tests that use them are marked `integration` automatically. Outside CI a missing server binary
skips those tests; in CI (CI=true) it fails them.
"""

import shutil
import tempfile

import pytest

from devstack import servers
from devstack.servers import InfluxDB, Mosquitto
from tests.support.servers import starter

# Fixtures that several test folders share.
pytest_plugins = ["tests.support.listener_fixtures", "tests.support.webhook_fixtures",
                  "tests.support.broker_fixtures"]

SERVER_FIXTURES = {"mosquitto", "mosquitto_factory", "influxdb", "influxdb_factory"}


def pytest_configure(config):
    """Each session gets its own temporary root, removed at the end: concurrent sessions would
    otherwise prune each other's folders under /tmp/pytest-of-<user>."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="alertloop-pytest-")
        config._alertloop_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    if getattr(config, "_alertloop_basetemp", None):
        shutil.rmtree(config._alertloop_basetemp, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a test left a server or service unclosed: still running, or its
    temporary folder still on disk (close() stops it and removes the folder)."""
    leftovers = sorted(f"{s.name} ({'running' if s.running else 'stopped'}, {s.workdir})"
                       for s in servers.unclosed())
    if leftovers:
        print("\nleft behind by the tests (call close()): " + ", ".join(leftovers))
        session.exitstatus = 1


@pytest.fixture
def mosquitto_factory():
    """Start brokers with extra config lines, e.g. `mosquitto_factory(config="...")`."""
    yield from starter(Mosquitto)


@pytest.fixture
def mosquitto(mosquitto_factory):
    """A running broker that allows anonymous clients, with persistence on."""
    return mosquitto_factory()


@pytest.fixture
def influxdb_factory():
    """Start InfluxDB servers, e.g. `influxdb_factory(auth=True)`."""
    yield from starter(InfluxDB)


@pytest.fixture
def influxdb(influxdb_factory):
    """A running InfluxDB 1.x without authentication."""
    return influxdb_factory()
