"""The alarm journal: the webhook's annunciator transitions into measurement `alarm_journal`.

A journal message (service_common.journal) becomes one line: tags `alert` and `device` (no
device tag for an alert's summary), string fields `from`, `to` and `by` (no `by` when nobody
acknowledged), time = the entry's `ts`. It takes the same batched, spooled, at-least-once path
as the readings; a redelivered entry overwrites itself.
"""

import re

from listener.line_protocol import escape_measurement, escape_tag
from listener.parse import TS_MAX_MS, TS_MIN_MS, Rejection
from service_common import journal

MEASUREMENT = "alarm_journal"
# Line protocol has no escape for these (nor for a backslash at the end of a tag value).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_SHARE = re.compile(r"^\$share/[^/]+/")


def subscription(alerts_root, topics=()):
    """The journal's topic filter; shared like the reading topics when they all are in one
    group, so that only one listener of the group stores each entry."""
    groups = {match.group(0) if match else "" for match in map(_SHARE.match, topics)}
    prefix = groups.pop() if len(groups) == 1 else ""
    return prefix + journal.subscription(alerts_root)


class JournalTopics:
    """Tells journal topics (`<alerts root>/_webhook/<id>/journal`) from the readings'."""

    def __init__(self, alerts_root):
        self.prefix = alerts_root + "/_webhook/"
        self.suffix = "/journal"

    def __contains__(self, topic):
        return topic.startswith(self.prefix) and topic.endswith(self.suffix) and \
            "/" not in topic[len(self.prefix):-len(self.suffix)]


def _string_field(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(payload, max_bytes):
    """The line protocol for one journal payload, or a Rejection (counted like a reading's)."""
    if len(payload) > max_bytes:
        return Rejection("too_large", f"{len(payload)} bytes, more than {max_bytes}")
    try:
        entry = journal.decode(payload)
    except journal.BadEntry as error:
        return Rejection(error.kind, f"journal entry: {error}")
    if not TS_MIN_MS <= entry.ts <= TS_MAX_MS:
        return Rejection("bad_ts", f"journal entry: ts {entry.ts} is out of range")
    tags = {"alert": entry.alert}
    if entry.device is not None:
        tags["device"] = entry.device
    fields = {"from": entry.from_state, "to": entry.to_state}
    if entry.by is not None:
        fields["by"] = entry.by
    for name, value in (*tags.items(), *fields.items()):
        if _UNSAFE.search(value) or (name in tags and "\\" in value):
            return Rejection("wrong_shape", f"journal entry: {name} {value!r:.40} has a "
                                            "control character (or a backslash in a tag)")
    head = escape_measurement(MEASUREMENT) + "".join(
        f",{key}={escape_tag(value)}" for key, value in sorted(tags.items()))
    body = ",".join(f"{key}={_string_field(value)}" for key, value in fields.items())
    return f"{head} {body} {entry.ts * 1_000_000}"
