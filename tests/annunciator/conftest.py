"""A webhook with its annunciator on, on the in-memory link (no broker)."""

import pytest

from devstack.wait import wait_until
from tests.support.annunciator import env
from tests.support.fakes import FakeLink
from webhook import create_app
from webhook.config import read_config
from webhook.publisher import AlertPublisher


@pytest.fixture
def started():
    """`started(retained=None, **env)` -> (app, publisher, link), restored and online."""
    publishers = []

    def start(retained=None, **extra):
        link = FakeLink(retained)
        publisher = AlertPublisher(read_config(env(**extra)), link=link)
        publishers.append(publisher)
        app = create_app(publisher.config, publisher=publisher)
        publisher.start()
        wait_until(lambda: link.online, 5, message="the webhook never said online")
        return app, publisher, link

    yield start
    for publisher in publishers:
        publisher.close()
