"""Fixtures for `POST /ingest`: the webhook (Flask app or the real process) on the harness broker,
a probe that records what reaches `sensors/#`, and the listener and InfluxDB fixtures for the
end-to-end tests."""

import base64

import pytest

from devstack.mqtt_probe import Probe
from tests.listener import conftest as listener_fixtures
from tests.webhook import conftest as webhook_fixtures

# The listener's broker settings (queues large enough for bursts) and its fixtures, and the
# webhook's fixtures, shared here.
mosquitto = listener_fixtures.mosquitto
db, status_probe = listener_fixtures.db, listener_fixtures.status_probe
publisher = listener_fixtures.publisher
listener_env, listener_factory = listener_fixtures.listener_env, listener_fixtures.listener_factory
broker_app_factory = webhook_fixtures.broker_app_factory
webhook_service = webhook_fixtures.webhook_service

INGEST_AUTH = ("plc-sender", "ingest-password-not-secret")


def basic(auth):
    return {"Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}


def ingest_env(**extra):
    env = {"INGEST_USERNAME": INGEST_AUTH[0], "INGEST_PASSWORD": INGEST_AUTH[1],
           "INGEST_DEVICES": "plc-*,gw-1"}
    env.update(extra)
    return env


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
