"""Start-up restore as a pure function: retained {topic: payload} in, store + dirty set out."""

import pytest

from webhook.restore import restore, topics_to_read
from webhook.state import AlertStore

STATE = "alerts/_webhook/webhook/state"
DOCUMENT = (b'{"alerts":{"pot-high":{"devices":["esp32-a"],"firing":{"f1":"esp32-a"}}},'
            b'"version":1}')


def test_only_the_document_and_the_known_alerts_are_read():
    assert topics_to_read("alerts", "webhook", ("pot-high", "temp-low")) == [
        STATE, "alerts/pot-high", "alerts/temp-low"]


CASES = [
    ("empty-broker", {}, (), {}, set()),
    ("document-alone-is-republished", {STATE: DOCUMENT}, (),
     {"alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1"}, {"pot-high"}),
    ("topic-lagging-behind-the-document", {STATE: DOCUMENT, "alerts/pot-high": b"0"},
     ("pot-high",), {"alerts/pot-high": "1", "alerts/pot-high/esp32-a": "1"}, {"pot-high"}),
    ("no-document-a-retained-one-waits", {"alerts/pot-high": b"1"}, ("pot-high",),
     {"alerts/pot-high": "0"}, set()),
    ("known-alert-without-state-gets-zero", {}, ("pot-high",), {"alerts/pot-high": "0"},
     {"pot-high"}),
    ("broken-document-starts-empty", {STATE: b"{broken"}, (), {}, set()),
    ("not-a-state-value-is-ignored", {"alerts/pot-high": b"maybe"}, ("pot-high",),
     {"alerts/pot-high": "0"}, {"pot-high"}),
]


@pytest.mark.parametrize("retained, known, values, dirty", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_restore(retained, known, values, dirty):
    restored = restore(retained, "alerts", "webhook", known)
    assert restored.store.topic_values(restored.store.known_alerts(), "alerts") == values
    assert restored.dirty == dirty


def test_what_the_broker_holds_is_not_published_again():
    restored = restore({STATE: DOCUMENT, "alerts/pot-high": b"1"}, "alerts", "webhook",
                       ("pot-high",))
    assert restored.published == {STATE: DOCUMENT, "alerts/pot-high": "1"}


def test_a_broken_document_is_named():
    restored = restore({STATE: b"{broken"}, "alerts", "webhook")
    assert restored.problems and "state document" in restored.problems[0]
    assert restored.store.known_alerts() == set()


def test_a_store_survives_its_document():
    store = AlertStore.from_document(DOCUMENT)
    restored = restore({STATE: store.document_bytes()}, "alerts", "webhook")
    assert restored.store.document() == store.document()
