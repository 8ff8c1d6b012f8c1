"""The event journal (service_common.events): what actions, the console and other services did,
into measurement `event_journal`.

Every service publishes on `journal/<its client id>` (the broker lets each write only its own
topic), QoS 1. An entry is stored only when its `source` is the topic's last level: the broker
vouches for that, not for the payload (`rejected_forged_source` counts the others). Tags
`source`, `kind`, `subject`; string fields `by` (when given) and `text`; time = ts ms + n ns, so
no two entries of one service overwrite each other and a redelivered one overwrites itself. It
takes the readings' batched, spooled, at-least-once path.
"""

from listener.journal import decoded, route_entries, text_line
from listener.line_protocol import Encoder
from listener.parse import Rejection
from service_common import events

MEASUREMENT = events.MEASUREMENT
MAX_TS_MS = (2**63 - 1 - events.MAX_N) // 1_000_000


def route(listener):
    """Subscribe `listener` to every service's event journal at QoS 1, whatever LISTENER_QOS
    says, and store each entry with the readings, acknowledged once stored or spooled."""
    max_bytes = listener.settings.max_payload_bytes * 4  # an entry's text is up to 1000 chars
    route_entries(listener, events.subscription(),
                  lambda message: line(message.topic, message.payload, max_bytes,
                                       listener.encoder))


def line(topic, payload, max_bytes, encoder=Encoder):
    """The line protocol for one event on `topic`, or a Rejection (counted like a reading's)."""
    event = decoded(payload, max_bytes, events.decode, events.BadEvent, "event")
    if type(event) is Rejection:
        return event
    sender = topic.rsplit("/", 1)[-1]
    if event.source != sender:
        return Rejection("forged_source", f"event on {topic!r} says source {event.source!r:.40}")
    if event.ts > MAX_TS_MS:
        return Rejection("bad_ts", f"event: ts {event.ts} is out of range")
    tags = {"source": event.source, "kind": event.kind, "subject": event.subject}
    fields = {"text": event.text} if event.by is None else {"by": event.by, "text": event.text}
    return text_line("event", MEASUREMENT, tags, fields, event.ts * 1_000_000 + event.n,
                     encoder)
