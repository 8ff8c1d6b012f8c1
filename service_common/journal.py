"""The alarm journal's wire format, shared by the webhook (writer) and the listener (reader).

The webhook publishes every annunciator transition, QoS 1, not retained, on
`<alerts root>/_webhook/<webhook client id>/journal` as JSON
`{"ts": <epoch ms>, "alert": "pot-high", "device": "esp32-a1b2c3" or null,
"from": "normal", "to": "unacked", "by": "<board id or HTTP user>" or null}`.
`device` null is the alert's summary (`alerts/<alert>/annunciator`).
"""

import json
from typing import NamedTuple

NORMAL = "normal"
UNACKED = "unacked"
ACKED = "acked"
CLEARED_UNACKED = "cleared-unacked"
STATES = (NORMAL, UNACKED, ACKED, CLEARED_UNACKED)
# What an annunciator topic shows while the console has shelved the alarm or taken it out of
# service (the ISA state runs on underneath); journal entries may go to and from them.
SHELVED = "shelved"
OUT_OF_SERVICE = "out-of-service"
SHOWN_STATES = (*STATES, SHELVED, OUT_OF_SERVICE)

SUBSCRIPTION_LEVEL = "+"
MEASUREMENT = "alarm_journal"  # where the listener stores the entries


class BadEntry(ValueError):
    """Not a journal entry; `kind` says how (not_utf8, bad_json or wrong_shape)."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind


class Entry(NamedTuple):
    ts: int  # epoch milliseconds
    alert: str
    device: str | None
    from_state: str
    to_state: str
    by: str | None


def topic(alerts_root, client_id):
    return f"{alerts_root}/_webhook/{client_id}/journal"


def subscription(alerts_root):
    """The filter that receives every webhook's journal."""
    return topic(alerts_root, SUBSCRIPTION_LEVEL)


def as_dict(entry):
    return {"ts": entry.ts, "alert": entry.alert, "device": entry.device,
            "from": entry.from_state, "to": entry.to_state, "by": entry.by}


def encode(entry):
    return json.dumps(as_dict(entry), separators=(",", ":")).encode()


def decode(payload):
    """The Entry in a journal payload; BadEntry saying what is wrong otherwise."""
    try:
        document = json.loads(payload)
    except UnicodeDecodeError as error:
        raise BadEntry("not_utf8", f"not UTF-8: {error}") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, too deep, too long an int
        raise BadEntry("bad_json", f"not JSON: {error}") from None
    return from_dict(document)


def from_dict(document):
    """The Entry in a decoded journal entry; BadEntry (wrong_shape) otherwise."""
    if not isinstance(document, dict):
        raise BadEntry("wrong_shape", "a journal entry must be a JSON object")
    ts = document.get("ts")
    if type(ts) is not int:
        raise BadEntry("wrong_shape", f'"ts" must be epoch milliseconds, not {ts!r:.40}')
    alert = document.get("alert")
    if not isinstance(alert, str) or not alert:
        raise BadEntry("wrong_shape", f'"alert" must be a non-empty string, not {alert!r:.40}')
    for key in ("device", "by"):
        value = document.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise BadEntry("wrong_shape",
                           f'"{key}" must be a non-empty string or null, not {value!r:.40}')
    for key in ("from", "to"):
        if document.get(key) not in SHOWN_STATES:
            raise BadEntry("wrong_shape", f'"{key}" must be one of {", ".join(SHOWN_STATES)}, '
                                          f"not {document.get(key)!r:.40}")
    return Entry(ts, alert, document.get("device"), document["from"], document["to"],
                 document.get("by"))
