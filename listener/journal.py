"""The alarm journal: the webhook's annunciator transitions into measurement `alarm_journal`.

A journal message (service_common.journal) becomes one line: tags `alert` and `device` (no
device tag for an alert's summary), string fields `from`, `to` and `by` (no `by` when nobody
acknowledged), time = the entry's `ts`. It takes the same batched, spooled, at-least-once path
as the readings; a redelivered entry overwrites itself.
"""

import re

from listener.line_protocol import Encoder
from listener.parse import Rejection
from service_common import journal

MEASUREMENT = journal.MEASUREMENT
# Line protocol has no escape for these (nor for a backslash at the end of a tag value).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
MAX_TS_MS = (2**63 - 1) // 1_000_000  # InfluxDB stores int64 nanoseconds
RETAINED = Rejection("retained", "a retained entry: journal entries are stored when they are live")


def route(listener):
    """Subscribe `listener` to every webhook's journal at QoS 1 (whatever LISTENER_QOS says)
    and store each entry with its readings, acknowledged once stored or spooled.

    Not shared like `$share/...` reading topics: each listener of a group stores every entry,
    and the copies overwrite each other."""
    max_bytes = listener.settings.max_payload_bytes
    route_entries(listener, journal.subscription(listener.settings.mqtt.alerts_root),
                  lambda message: line(message.payload, max_bytes, listener.encoder))


def route_entries(listener, topic_filter, to_line):
    """Subscribe `listener` to `topic_filter` at QoS 1; each live message becomes
    `to_line(message)`, a line stored and acknowledged like a reading's, or a Rejection counted
    like one (and still acknowledged)."""

    def handle(message):
        listener.stats.received += 1
        stored = RETAINED if message.retain else to_line(message)
        if type(stored) is Rejection:
            listener.stats.reject(stored.kind, message.topic, stored.detail)
            stored = None
        listener.store_line(stored, message)

    listener.route(topic_filter, 1, handle)


def unsafe_text(value):
    """True when `value` holds a character line protocol cannot carry."""
    return bool(_UNSAFE.search(value))


def decoded(payload, max_bytes, decode, bad, what):
    """`decode(payload)`, or a Rejection: larger than `max_bytes`, or `bad` raised (its kind)."""
    if len(payload) > max_bytes:
        return Rejection("too_large", f"{len(payload)} bytes, more than {max_bytes}")
    try:
        return decode(payload)
    except bad as error:
        return Rejection(error.kind, f"{what}: {error}")


def line(payload, max_bytes, encoder=Encoder):
    """The store's line for one journal payload (through `encoder`, the store's), or a
    Rejection (counted like a reading's)."""
    entry = decoded(payload, max_bytes, journal.decode, journal.BadEntry, "journal entry")
    if type(entry) is Rejection:
        return entry
    if not 0 < entry.ts <= MAX_TS_MS:
        return Rejection("bad_ts", f"journal entry: ts {entry.ts} is out of range")
    tags = {"alert": entry.alert}
    if entry.device is not None:
        tags["device"] = entry.device
    fields = {"from": entry.from_state, "to": entry.to_state}
    if entry.by is not None:
        fields["by"] = entry.by
    return text_line("journal entry", MEASUREMENT, tags, fields, entry.ts * 1_000_000, encoder)


def text_line(what, measurement, tags, fields, time_ns, encoder=Encoder):
    """One line of string tags and string fields, made by `encoder`, or a Rejection (`what`
    names the kind of entry) when a value holds what line protocol cannot carry."""
    for name, value in (*tags.items(), *fields.items()):
        if unsafe_text(value) or (name in tags and "\\" in value):
            return Rejection("wrong_shape", f"{what}: {name} {value!r:.40} has a control "
                                            "character (or a backslash in a tag)")
    return encoder.text(measurement, tags, fields, time_ns)
