"""Start-up: the alert state rebuilt from what the broker retains. Pure: no MQTT here.

The webhook reads back only its state document and the topics of WEBHOOK_KNOWN_ALERTS (a bounded
set, whatever else the broker retains); `restore()` turns them into the store, what the broker is
known to hold, and the alerts whose topics must be published again.
"""

import logging
from dataclasses import dataclass, field

from webhook.state import AlertStore, changed
from webhook.topics import alert_topic, parse_alert_topic, state_topic

log = logging.getLogger(__name__)


@dataclass
class Restored:
    store: AlertStore
    published: dict  # topic -> value the broker is known to hold (str, or bytes for the document)
    dirty: set  # alerts whose topics may differ from what the broker holds
    problems: list = field(default_factory=list)


def topics_to_read(root, client_id, known_alerts):
    """The retained topics the restore needs: the state document and the known alerts' topics."""
    return [state_topic(root, client_id), *(alert_topic(root, a) for a in known_alerts)]


def restore(retained, root, client_id, known_alerts=(), limits=None, now=0.0):
    """`retained` {topic: payload bytes} -> Restored.

    With a state document, every alert in it is dirty: its topics are published again, since a
    crash between the document and the topics leaves them behind it. Without one, retained alert
    topics are taken as they are (a `1` stays until the next notification for that alert).
    Known alerts without any retained state get their `0`.
    """
    document_topic = state_topic(root, client_id)
    store, published, problems = AlertStore(limits, known_alerts), {}, []
    raw_document = retained.get(document_topic)
    if raw_document is not None:
        try:
            store = AlertStore.from_document(raw_document, limits, known_alerts, now)
            published[document_topic] = raw_document
        except ValueError as error:
            problems.append(f"ignoring the retained state document: {error}")
            raw_document = None
    for topic, payload in retained.items():
        parsed = parse_alert_topic(topic, root)
        if parsed is None or payload not in (b"0", b"1"):
            continue
        alert, device = parsed
        published[topic] = payload.decode()
        store.remember(alert, device, now)
    if raw_document is None:
        dirty = set()
    else:
        desired = store.topic_values(store.known_alerts(), root)
        dirty = {parse_alert_topic(t, root)[0] for t in changed(desired, published)}
    for alert in known_alerts:
        if alert_topic(root, alert) not in published:
            store.remember(alert, now=now)
            dirty.add(alert)
    return Restored(store, published, dirty, problems)
