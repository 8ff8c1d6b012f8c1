"""Helpers of the annunciator tests: the webhook's settings with the annunciator on, and readers
of what it published on the in-memory link."""

import json

from devstack.wait import wait_until
from tests.support.webhook import instance, unified, webhook_env

ACK_AUTH = ("operator", "ack-password-not-secret")
STATE = "alerts/_webhook/webhook/state"
JOURNAL = "alerts/_webhook/webhook/journal"


def env(**extra):
    return webhook_env(**{"WEBHOOK_ANNUNCIATOR": "isa", "ACK_USERNAME": ACK_AUTH[0],
                          "ACK_PASSWORD": ACK_AUTH[1], **extra})


def notification(*instances):
    """unified() of ("firing"/"resolved", fingerprint, device or None) tuples."""
    return unified(*[instance("Pot high", status, fp, **({"device": d} if d else {}))
                     for status, fp, d in instances])


def journal_entries(link):
    return [json.loads(p) for p in link.payloads(JOURNAL)]


def transitions(link):
    """(device, from, to, by) of every journal entry published so far."""
    return [(e["device"], e["from"], e["to"], e["by"]) for e in journal_entries(link)]


def handled(publisher):
    """How many acknowledgements the publisher has handled, whatever their outcome."""
    counts = publisher.counts_snapshot()
    return sum(counts.get(name, 0) for name in ("acks", "ack_unknown", "ack_unpublished"))


def press(publisher, link, topic, payload=b"esp8266-b2"):
    """Deliver an acknowledgement on `topic` and wait until the worker handled it."""
    before = handled(publisher)
    link.deliver(topic, payload)
    wait_until(lambda: handled(publisher) > before, 5,
               message="the acknowledgement was never handled")
