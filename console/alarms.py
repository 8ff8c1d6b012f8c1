"""The alarm summary's model: every alarm instance from the webhook's retained topics.

The webhook owns alarm states (CONTRACTS.md, docs/annunciator.md). It publishes, retained,
`alerts/<alert>[/<device>]/info` (a JSON document: state, since, fired_at, value, threshold,
shelved, ...) and `alerts/<alert>[/<device>]/annunciator` (the state alone). The console reads
`info` where there is one and falls back to the bare state otherwise. Pure: no MQTT, no clock.
"""

import json
import math
from dataclasses import dataclass

from console.changes import Board

INFO, ANNUNCIATOR = "info", "annunciator"
UNACKED, ACKED, CLEARED_UNACKED, NORMAL = "unacked", "acked", "cleared-unacked", "normal"
SHELVED, OUT_OF_SERVICE = "shelved", "out-of-service"
STATES = (UNACKED, CLEARED_UNACKED, ACKED, NORMAL, SHELVED, OUT_OF_SERVICE)
# The order of the summary: what waits for the operator first.
_RANK = {UNACKED: 0, CLEARED_UNACKED: 1, ACKED: 2, SHELVED: 3, OUT_OF_SERVICE: 4, NORMAL: 5}
# Levels the webhook uses under an alert that are no device: never instances.
_RESERVED = {"ack", "shelve", "info", "annunciator", "state", "sync", "journal"}
MAX_TEXT = 500


@dataclass(frozen=True)
class Alarm:
    alert: str
    device: str | None
    state: str
    active: bool = False
    since: int | None = None  # epoch ms of the last state change
    fired_at: int | None = None
    value: float | None = None
    threshold: float | None = None
    summary: str | None = None
    acked_by: str | None = None
    shelved: dict | None = None  # {"by", "reason", "until", "kind"}

    @property
    def key(self):
        return (self.alert, self.device)

    @property
    def waiting(self):
        return self.state in (UNACKED, CLEARED_UNACKED)

    @property
    def suppressed(self):
        return self.state in (SHELVED, OUT_OF_SERVICE) or self.shelved is not None

    @property
    def ident(self):
        """The instance's id in forms and the API: `alert` or `alert/device`."""
        return self.alert if self.device is None else f"{self.alert}/{self.device}"


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _ms(value):
    return value if type(value) is int and value > 0 else None


def _text(value):
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _shelved(value):
    if not isinstance(value, dict):
        return None
    kind = value.get("kind") if value.get("kind") in (SHELVED, OUT_OF_SERVICE) else SHELVED
    return {"by": _text(value.get("by")), "reason": _text(value.get("reason")),
            "until": _ms(value.get("until")), "kind": kind}


def parse_topic(topic, root):
    """(alert, device or None, kind) of an info or annunciator topic under `root`, else None."""
    levels = topic.split("/")
    if len(levels) not in (3, 4) or levels[0] != root or levels[-1] not in (INFO, ANNUNCIATOR):
        return None
    alert = levels[1]
    device = levels[2] if len(levels) == 4 else None
    if not alert or alert.startswith("_") or device == "" or device in _RESERVED:
        return None
    return alert, device, levels[-1]


def parse_info(alert, device, payload):
    """The Alarm in an info document; ValueError when it is none."""
    document = json.loads(payload)
    if not isinstance(document, dict):
        raise ValueError("an info document must be a JSON object")
    shelved = _shelved(document.get("shelved"))
    state = document.get("state")
    if state not in STATES:
        raise ValueError(f"unknown state {state!r:.40}")
    return Alarm(alert=alert, device=device, state=state, active=document.get("active") is True,
                 since=_ms(document.get("since")), fired_at=_ms(document.get("fired_at")),
                 value=_number(document.get("value")),
                 threshold=_number(document.get("threshold")),
                 summary=_text(document.get("summary")), acked_by=_text(document.get("acked_by")),
                 shelved=shelved)


class AlarmBoard(Board):
    """The current instances, fed with retained alert messages; thread-safe.

    `version` grows with every change, so that pages waiting for news know there is some.
    """

    def __init__(self, root="alerts"):
        super().__init__()
        self.root = root
        self._info = {}  # (alert, device) -> Alarm from its info document
        self._bare = {}  # (alert, device) -> Alarm from its annunciator state alone

    def subscription(self):
        return f"{self.root}/#"

    def message(self, topic, payload):
        """Apply one message; True when it changed the board."""
        parsed = parse_topic(topic, self.root)
        if parsed is None:
            return False
        alert, device, kind = parsed
        key = (alert, device)
        table = self._info if kind == INFO else self._bare
        if not payload:  # the webhook deleted the retained topic: the instance is gone
            return self.put(table, key, None)
        try:
            if kind == INFO:
                alarm = parse_info(alert, device, payload)
            else:
                state = payload.decode()
                if state not in STATES:
                    raise ValueError(f"unknown state {state!r:.40}")
                alarm = Alarm(alert, device, state, active=state in (UNACKED, ACKED))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self.bad()
        return self.put(table, key, alarm)

    def alarms(self):
        """Every instance not normal, in the summary's order. An alert's summary instance
        (device None) is listed only when none of its devices is: it merely follows them."""
        with self._lock:
            merged = {**self._bare, **self._info}
        with_devices = {alert for alert, device in merged if device is not None}
        shown = [a for a in merged.values()
                 if (a.state != NORMAL or a.suppressed)
                 and not (a.device is None and a.alert in with_devices)]
        return sorted(shown, key=lambda a: (_RANK[a.state] if not a.shelved else _RANK[SHELVED],
                                            -(a.since or 0), a.alert, a.device or ""))

    def find(self, ident):
        """The instance named `alert` or `alert/device`, or None."""
        alert, _, device = ident.partition("/")
        key = (alert, device or None)
        with self._lock:
            return self._info.get(key) or self._bare.get(key)
