"""Fixtures that run the webhook, shared by the webhook and ingest tests (a plugin listed in
tests/conftest.py): the Flask app on an in-memory link (no server), the app against the harness
broker, and the real `python -m webhook` process (waitress)."""

import sys

import pytest

from devstack.paths import ROOT
from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from tests.support.fakes import FakeLink
from tests.support.webhook import webhook_env
from webhook import close_app, create_app
from webhook.config import read_config
from webhook.publisher import AlertPublisher


@pytest.fixture
def app_factory():
    """`app_factory(retained=None, **env)`: a Flask app whose publisher runs on a FakeLink (no
    broker), started and restored; the link is `app.link`."""
    publishers = []

    def make(retained=None, **extra):
        config = read_config(webhook_env(**extra))
        link = FakeLink(retained)
        publisher = AlertPublisher(config, link=link)
        publishers.append(publisher)
        app = create_app(config, publisher=publisher)
        publisher.start()
        wait_until(lambda: link.online, 5, message="the webhook never said online")
        app.link = link
        return app

    yield make
    for publisher in publishers:
        publisher.close()


@pytest.fixture
def broker_app_factory(mosquitto):
    """`broker_app_factory(broker=None, wait=True, **env)`: a Flask app connected to the harness
    broker, closed afterwards."""
    apps = []

    def make(broker=None, wait=True, **extra):
        app = create_app(read_config(webhook_env(broker or mosquitto, **extra)))
        apps.append(app)
        if wait:
            publisher = app.extensions["alert_publisher"]
            wait_until(lambda: publisher.ready, 10, message="webhook did not restore its state")
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def webhook_service(mosquitto):
    """`webhook_service(broker=None, **env)`: the real `python -m webhook` on a free port."""
    started = []

    def start(broker=None, **extra):
        port = free_port()
        env = webhook_env(broker or mosquitto, WEBHOOK_PORT=port, PYTHONPATH=ROOT, **extra)
        service = Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                          ready=lambda: port_open(port), port=port)
        started.append(service)
        service.url = f"http://127.0.0.1:{port}"
        return service.start()

    yield start
    for service in started:
        service.close()
