"""The alert-instance store and the topic values it implies. Pure: no MQTT here.

For each alert the store keeps its firing instances (key -> device or None) and the devices it
has seen, so a device whose last instance resolved still gets its `0`. The store is bounded:
devices and alerts with nothing firing are forgotten `forget_after` seconds after their last
change, and all entries together (firing instances, remembered devices and alerts) stay within
`max_entries`: the oldest remembered ones go first, and a new instance beyond the cap is refused.
Its document also carries the annunciator's states and the journal entries the broker has not yet
taken.
"""

import json
import re
from dataclasses import dataclass

from service_common import journal
from webhook.annunciator import Annunciator
from webhook.shelving import Shelves
from webhook.topics import alert_topic, device_problem, topic_safe

DOCUMENT_VERSION = 2
ON, OFF = "1", "0"


# Instances whose times are kept to order notifications: short plain fingerprints, as Grafana's
# (16 hex digits), so that the times add little to the bounded state document.
_ORDERED_KEY = re.compile(r"[\w:.-]{1,32}", re.ASCII)

# The most WEBHOOK_STATE_MAX_ENTRIES may be: the state document at this many entries of the
# longest names fits the broker's max_packet_size (tests/deploy/test_broker.py).
MAX_ENTRIES_ALLOWED = 1000


@dataclass(frozen=True)
class Limits:
    max_entries: int = 1000
    forget_after: float = 7 * 24 * 3600.0


class AlertStore:
    def __init__(self, limits=None, keep=()):
        self.limits = limits or Limits()
        self.keep = frozenset(keep)  # alerts never forgotten (WEBHOOK_KNOWN_ALERTS)
        self.firing = {}  # alert -> {key: device or None}
        self.devices = {}  # alert -> {device: time of its last change}
        self.changed_at = {}  # alert -> time of its last change
        self.refused = []  # (alert, key) of firing instances refused since the last look
        # Replays and late deliveries: the startsAt of each firing instance and the endsAt of
        # resolved ones (epoch ms), and the updates found older than them since the last look.
        self.starts = {}  # alert -> {key: ms}
        self.ended = {}  # alert -> {key: ms}
        self.stale = []  # (alert, key)
        # Firing instances resolved only because a whole-state notification left them out (a
        # silence in Grafana does that to a still-firing instance), since the last look.
        self.omitted = []  # (alert, key)
        self.forgotten = 0  # entries forgotten so far
        self.annunciator = Annunciator()
        self.shelves = Shelves()
        # For `.../info`: per alert {device or "": {"value", "threshold", "summary",
        # "fired_at", "since", "acked_by"}} (epoch ms), from the notifications and transitions.
        self.info = {}
        self.journal = []  # journal.Entry not yet acknowledged by the broker, oldest first

    # --- changes -----------------------------------------------------------------------------

    def apply(self, notification, now=0.0):
        """Apply a Notification's updates at time `now`; returns the alerts it concerned."""
        newest = notification.newest
        listed = {(u.alert, u.key) for u in notification.updates}
        for alert, key in notification.snapshots:
            instances = self.remember(alert, now=now)
            for fingerprint in [k for k in instances
                                if key is None or k == key or k.startswith(key + ":")]:
                started = self.starts.get(alert, {}).get(fingerprint)
                if newest is not None and started is not None and started > newest:
                    self.stale.append((alert, fingerprint))  # began after this was sent
                    continue
                if key is None and (alert, fingerprint) not in listed:
                    self.omitted.append((alert, fingerprint))
                self._resolve(alert, fingerprint, now)
        room = self.limits.max_entries - self.entries()
        full = False  # nothing left to forget for a new instance
        for update in notification.updates:
            if self._is_stale(update):
                self.stale.append((update.alert, update.key))
                continue
            if update.firing and update.key not in self.firing.get(update.alert, {}):
                if room <= 0 and not full:
                    room = self.limits.max_entries - self.entries()  # the estimate ran out
                if room > 0:
                    room -= 1
                elif full or not self._forget_oldest():
                    full = True
                    self.refused.append((update.alert, update.key))
                    continue
            instances = self.remember(update.alert, update.device, now)
            if update.firing:
                if update.key not in instances:
                    self._note(update.alert, update.device, fired_at=update.starts_at or
                               int(now * 1000))
                if update.details:
                    self._note(update.alert, update.device, **update.details)
                instances[update.key] = update.device
                self.ended.get(update.alert, {}).pop(update.key, None)
                if update.starts_at is not None and _ORDERED_KEY.fullmatch(update.key):
                    self.starts.setdefault(update.alert, {})[update.key] = update.starts_at
            else:
                self._resolve(update.alert, update.key, now)
                if update.ends_at is not None and _ORDERED_KEY.fullmatch(update.key):
                    self.ended.setdefault(update.alert, {})[update.key] = update.ends_at
        self._bound_ended()
        self.forget_old(now)
        return notification.alerts

    def _note(self, alert, device, **values):
        """Record details of an instance for its `.../info` (the summary's too)."""
        for target in {device or "", ""}:
            self.info.setdefault(alert, {}).setdefault(target, {}).update(values)

    def _is_stale(self, update):
        """An update older than what the store holds: the resolve of an earlier firing episode
        than the one firing now, or a firing of an episode that has ended since (a replayed or
        late notification)."""
        if update.starts_at is None:
            return False
        if update.firing:
            ended = self.ended.get(update.alert, {}).get(update.key)
            return ended is not None and update.starts_at < ended
        started = self.starts.get(update.alert, {}).get(update.key)
        return update.key in self.firing.get(update.alert, {}) and started is not None and \
            update.starts_at < started

    def _bound_ended(self):
        """Keep at most max_entries endsAt times, the newest."""
        times = sorted((t, alert, key) for alert, keys in self.ended.items()
                       for key, t in keys.items())
        for _, alert, key in times[:max(0, len(times) - self.limits.max_entries)]:
            del self.ended[alert][key]
        for alert in [a for a, keys in self.ended.items() if not keys]:
            del self.ended[alert]

    def remember(self, alert, device=None, now=0.0):
        """Note `alert` (and `device`) as changed at `now`; returns the alert's instances."""
        self.changed_at[alert] = now
        if device is not None:
            self.devices.setdefault(alert, {})[device] = now
        return self.firing.setdefault(alert, {})

    def _resolve(self, alert, key, now):
        self.starts.get(alert, {}).pop(key, None)
        device = self.firing.get(alert, {}).pop(key, None)
        if device is not None:
            self.devices.setdefault(alert, {})[device] = now

    def forget_old(self, now):
        """Forget what resolved more than `forget_after` ago, then the oldest remembered entries
        while over `max_entries`; returns how many were forgotten."""
        cutoff = now - self.limits.forget_after
        excess = self.entries() - self.limits.max_entries
        forgotten = 0
        for when, alert, device in sorted(self._forgettable(), key=lambda c: c[0]):
            if when >= cutoff and excess <= 0:
                break
            forgotten += self._forget(alert, device)
            excess -= 1
        self.forgotten += forgotten
        return forgotten

    def _forget_oldest(self):
        candidates = self._forgettable()
        if not candidates:
            return False
        _, alert, device = min(candidates, key=lambda c: c[0])
        self.forgotten += self._forget(alert, device)
        return True

    def _forgettable(self):
        """[(time of last change, alert, device or None)] of every entry with nothing firing."""
        found = []
        for alert in list(self.known_alerts()):
            firing_devices = set(self.firing.get(alert, {}).values())
            for device, when in self.devices.get(alert, {}).items():
                if device not in firing_devices:
                    found.append((when, alert, device))
            if alert not in self.keep and not self.firing.get(alert) and \
                    not self.devices.get(alert):
                found.append((self.changed_at.get(alert, 0.0), alert, None))
        return found

    def _forget(self, alert, device):
        if device is not None:
            self.devices[alert].pop(device, None)
            if not self.devices[alert]:
                del self.devices[alert]
        else:
            for table in (self.firing, self.devices, self.changed_at, self.starts, self.ended,
                          self.info):
                table.pop(alert, None)
        return 1

    # --- views -------------------------------------------------------------------------------

    def known_alerts(self):
        return set(self.firing) | set(self.devices)

    def entries(self):
        """Firing instances, plus remembered devices and alerts with nothing firing."""
        count = 0
        for alert in self.known_alerts():
            instances = self.firing.get(alert) or {}
            devices = self.devices.get(alert) or {}
            firing_devices = set(instances.values()) if devices and instances else ()
            remembered = sum(1 for d in devices if d not in firing_devices)
            count += len(instances) + remembered + (not instances and not remembered)
        return count

    def topic_values(self, alerts, root):
        """{topic: "1"/"0"} for `alerts`: the alert topic and one topic per known device."""
        values = {}
        for alert in sorted(alerts):
            instances = self.firing.get(alert, {})
            values[alert_topic(root, alert)] = ON if instances else OFF
            firing_devices = set(instances.values())
            for device in sorted(self.devices.get(alert, ())):
                values[alert_topic(root, alert, device)] = ON if device in firing_devices else OFF
        return values

    # --- the retained state document ---------------------------------------------------------

    def document(self, full=False):
        """The store as a JSON-ready dict (published retained, read back at start-up). `full`
        adds the details of `.../info`: the state file has them, the broker's copy is kept within
        its packet size without them."""
        return {
            "version": DOCUMENT_VERSION,
            "alerts": {
                alert: {
                    "firing": dict(sorted(self.firing.get(alert, {}).items())),
                    "devices": {d: int(t) for d, t in sorted(self.devices.get(alert, {}).items())},
                    "changed": int(self.changed_at.get(alert, 0)),
                    **({"starts": dict(sorted(self.starts[alert].items()))}
                       if self.starts.get(alert) else {}),
                    **({"ended": dict(sorted(self.ended[alert].items()))}
                       if self.ended.get(alert) else {}),
                }
                for alert in sorted(self.known_alerts())
            },
            "annunciator": self.annunciator.document(),
            **({"shelves": self.shelves.document()} if self.shelves.shelves else {}),
            **({"info": self.info} if full and self.info else {}),
            "journal": [journal.as_dict(entry) for entry in self.journal],
        }

    def document_bytes(self, full=False):
        return json.dumps(self.document(full), separators=(",", ":"), sort_keys=True,
                          ensure_ascii=False).encode()

    @classmethod
    def from_document(cls, raw, limits=None, keep=(), now=0.0):
        """Rebuild a store from `document_bytes()` (or a version 1 document, whose devices count
        as changed `now`); ValueError when it is not one."""
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"state document is not JSON: {error}") from None
        if not isinstance(doc, dict) or doc.get("version") not in (1, DOCUMENT_VERSION) or \
                not isinstance(doc.get("alerts"), dict):
            raise ValueError(f"state document is not version 1 or {DOCUMENT_VERSION}")
        store = cls(limits, keep)
        for alert, entry in doc["alerts"].items():
            if not isinstance(alert, str) or topic_safe(alert) != alert or \
                    not isinstance(entry, dict):
                raise ValueError(f"state document: bad entry for alert {alert!r}")
            firing, devices = entry.get("firing", {}), entry.get("devices", {})
            if isinstance(devices, list):  # version 1
                devices = dict.fromkeys(devices, now)
            changed_at = entry.get("changed", now)
            if not isinstance(firing, dict) or not isinstance(devices, dict) or any(
                    d is not None and device_problem(d) for d in [*firing.values(), *devices]) \
                    or not all(isinstance(k, str) for k in firing) or not all(
                        _is_time(t) for t in [*devices.values(), changed_at]):
                raise ValueError(f"state document: bad instances for alert {alert!r}")
            store.firing[alert] = dict(firing)
            store.devices[alert] = {**dict.fromkeys(
                (d for d in firing.values() if d is not None), changed_at), **devices}
            if not store.devices[alert]:
                del store.devices[alert]
            store.changed_at[alert] = changed_at
            for name in ("starts", "ended"):
                times = entry.get(name, {})
                if not isinstance(times, dict) or not all(
                        isinstance(k, str) and _is_time(t) for k, t in times.items()):
                    raise ValueError(f"state document: bad {name} for alert {alert!r}")
                if times:
                    getattr(store, name)[alert] = dict(times)
        # Both are missing from an older webhook's document: every alarm starts "normal".
        store.annunciator.restore(doc.get("annunciator", {}))
        store.shelves.restore(doc.get("shelves", []))
        info = doc.get("info", {})
        if not isinstance(info, dict) or not all(
                isinstance(v, dict) and all(isinstance(d, dict) for d in v.values())
                for v in info.values()):
            raise ValueError("state document: info must be {alert: {device: {...}}}")
        store.info = info
        entries = doc.get("journal", [])
        if not isinstance(entries, list):
            raise ValueError("state document: journal must be an array")
        try:
            store.journal = [journal.from_dict(entry) for entry in entries]
        except journal.BadEntry as error:
            raise ValueError(f"state document: bad journal entry: {error}") from None
        store.forget_old(now)
        store.forgotten = 0
        return store


def _is_time(value):
    return type(value) in (int, float) and value >= 0


def changed(desired, published):
    """The subset of `desired` {topic: value} that differs from what was last acknowledged."""
    return {topic: value for topic, value in desired.items() if published.get(topic) != value}
