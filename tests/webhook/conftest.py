"""Fixtures for the webhook: the Flask app on an in-memory link (no server). The app factories
(in-memory link, harness broker) and the real `python -m webhook` process (waitress) for
restart, outage and kill -9 tests are shared fixtures: tests/support/webhook_fixtures.py."""

import pytest


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()
