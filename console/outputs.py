"""The outputs of the actions service, from its retained `actions/<id>/state` documents
(CONTRACTS.md, docs/actions.md). Pure: no MQTT, no clock."""

import json
import math
from dataclasses import dataclass

from console.changes import Board

MODES = ("auto", "hand", "off", "failsafe")
SETTABLE = ("auto", "hand", "off")
MAX_TEXT = 200


@dataclass(frozen=True)
class Output:
    id: str
    kind: str | None = None
    mode: str = "auto"
    commanded: object = None
    reported: object = "unknown"
    confirmed: bool = False
    optimistic: bool = False
    mismatch: bool = False
    available: bool = False
    since: int | None = None
    override: dict | None = None

    @property
    def abnormal(self):
        return self.mismatch or not self.available or self.mode in ("failsafe", "hand", "off")


def _level(value):
    if value in ("on", "off", "unknown") or value is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return "unknown"


def _override(value):
    if not isinstance(value, dict):
        return None
    text = {k: value.get(k)[:MAX_TEXT] if isinstance(value.get(k), str) else None
            for k in ("mode", "by", "reason")}
    until = value.get("until")
    return {**text, "value": _level(value.get("value")),
            "until": until if type(until) is int and until > 0 else None}


def parse_state(output_id, payload):
    """The Output in a state document; ValueError when it is none."""
    document = json.loads(payload)
    if not isinstance(document, dict):
        raise ValueError("a state document must be a JSON object")
    mode = document.get("mode")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r:.40}")
    since = document.get("since")
    kind = document.get("kind")
    return Output(id=output_id, kind=kind[:MAX_TEXT] if isinstance(kind, str) else None,
                  mode=mode, commanded=_level(document.get("commanded")),
                  reported=_level(document.get("reported")) or "unknown",
                  confirmed=document.get("confirmed") is True,
                  optimistic=document.get("optimistic") is True,
                  mismatch=document.get("mismatch") is True,
                  available=document.get("available") is True,
                  since=since if type(since) is int and since > 0 else None,
                  override=_override(document.get("override")))


class OutputBoard(Board):
    """Every output the actions service published, by id; thread-safe."""

    def __init__(self, root="actions"):
        super().__init__()
        self.root = root
        self._outputs = {}

    def subscription(self):
        return f"{self.root}/+/state"

    def message(self, topic, payload):
        levels = topic.split("/")
        if len(levels) != 3 or levels[0] != self.root or levels[2] != "state":
            return False
        output_id = levels[1]
        if not payload:
            return self.put(self._outputs, output_id, None)
        try:
            output = parse_state(output_id, payload)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self.bad()
        return self.put(self._outputs, output_id, output)

    def outputs(self):
        with self._lock:
            return sorted(self._outputs.values(), key=lambda o: (not o.abnormal, o.id))

    def find(self, output_id):
        with self._lock:
            return self._outputs.get(output_id)
