"""A webhook with its annunciator on, on the in-memory link (no broker)."""

import json

import pytest

from devstack.wait import wait_until
from tests.webhook.conftest import instance, unified, webhook_env
from tests.webhook.fakes import FakeLink
from webhook import create_app
from webhook.config import read_config
from webhook.publisher import AlertPublisher

ACK_AUTH = ("operator", "ack-password-not-secret")
STATE = "alerts/_webhook/webhook/state"
JOURNAL = "alerts/_webhook/webhook/journal"


def env(**extra):
    return webhook_env(**{"WEBHOOK_ANNUNCIATOR": "isa", "ACK_USERNAME": ACK_AUTH[0],
                          "ACK_PASSWORD": ACK_AUTH[1], **extra})


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


def notification(*instances):
    """unified() of ("firing"/"resolved", fingerprint, device or None) tuples."""
    return unified(*[instance("Pot high", status, fp, **({"device": d} if d else {}))
                     for status, fp, d in instances])


def journal_entries(link):
    return [json.loads(p) for p in link.payloads(JOURNAL)]


def transitions(link):
    """(device, from, to, by) of every journal entry published so far."""
    return [(e["device"], e["from"], e["to"], e["by"]) for e in journal_entries(link)]
