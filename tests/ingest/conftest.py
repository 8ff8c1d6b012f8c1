"""Fixtures for `POST /ingest`: the webhook (Flask app or the real process) on the harness broker
and a probe that records what reaches `sensors/#`. The listener, InfluxDB and webhook fixtures of
the end-to-end tests are shared fixtures: tests/support/."""

import pytest

from devstack.mqtt_probe import Probe
from tests.support.ingest import ingest_env
from tests.support.listener import BROKER_CONFIG


@pytest.fixture
def mosquitto(mosquitto_factory):
    """The listener's broker settings (queues large enough for bursts)."""
    return mosquitto_factory(config=BROKER_CONFIG)


@pytest.fixture
def sensors(mosquitto):
    """A probe subscribed to sensors/#: what the webhook published."""
    with Probe(mosquitto.host, mosquitto.port, ["sensors/#"]) as probe:
        yield probe


@pytest.fixture
def ingest_client(broker_app_factory):
    """A Flask test client of a webhook with the INGEST_* user; `.app` is the app."""
    app = broker_app_factory(**ingest_env())
    client = app.test_client()
    client.app = app
    return client
