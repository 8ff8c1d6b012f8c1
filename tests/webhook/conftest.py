"""Fixtures for the webhook: the Flask app on an in-memory link (no server). The app against
the harness broker and the real `python -m webhook` process (waitress) for restart, outage and
kill -9 tests are shared fixtures: tests/support/webhook_fixtures.py."""

import pytest

from devstack.wait import wait_until
from tests.support.fakes import FakeLink
from tests.support.webhook import webhook_env
from webhook import create_app
from webhook.config import read_config
from webhook.publisher import AlertPublisher


@pytest.fixture
def app_factory():
    """`app_factory(retained=None, **env)`: a Flask app whose publisher runs on a FakeLink (no
    broker), started and restored; the link is `app.link`."""

    def make(retained=None, **extra):
        config = read_config(webhook_env(**extra))
        link = FakeLink(retained)
        publisher = AlertPublisher(config, link=link)
        app = create_app(config, publisher=publisher)
        publisher.start()
        wait_until(lambda: link.online, 5, message="the webhook never said online")
        app.link = link
        return app

    return make


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()
