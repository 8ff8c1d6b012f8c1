"""Fixtures for the listener tests. The listener process, its database and probes are shared
fixtures: tests/support/listener_fixtures.py."""

import pytest

from tests.support.listener import BROKER_CONFIG


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=BROKER_CONFIG)


@pytest.fixture
def listener(listener_factory):
    return listener_factory()
