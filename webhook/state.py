"""The alert-instance store and the topic values it implies. Pure: no MQTT here.

For each alert the store keeps its firing instances (fingerprint -> device or None) and every
device it has seen, so a device whose last instance resolved still gets its `0`. Its document
also carries the annunciator's states and the journal entries the broker has not yet taken.
"""

import json

from service_common import journal
from webhook.annunciator import Annunciator
from webhook.topics import alert_topic, device_problem, topic_safe

DOCUMENT_VERSION = 1
ON, OFF = "1", "0"


class AlertStore:
    def __init__(self):
        self.firing = {}  # alert -> {fingerprint: device or None}
        self.devices = {}  # alert -> set of devices
        self.annunciator = Annunciator()
        self.journal = []  # journal.Entry not yet acknowledged by the broker, oldest first

    def apply(self, notification):
        """Apply a Notification's updates; returns the alerts it concerned."""
        for alert, key in notification.snapshots:
            instances = self.firing.setdefault(alert, {})
            for fingerprint in [k for k in instances if k == key or k.startswith(key + ":")]:
                del instances[fingerprint]
        for update in notification.updates:
            instances = self.firing.setdefault(update.alert, {})
            if update.device is not None:
                self.devices.setdefault(update.alert, set()).add(update.device)
            if update.firing:
                instances[update.key] = update.device
            else:
                instances.pop(update.key, None)
        return notification.alerts

    def known_alerts(self):
        return set(self.firing) | set(self.devices)

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

    def document(self):
        """The store as a JSON-ready dict (published retained, read back at start-up)."""
        return {
            "version": DOCUMENT_VERSION,
            "alerts": {
                alert: {
                    "firing": dict(sorted(self.firing.get(alert, {}).items())),
                    "devices": sorted(self.devices.get(alert, ())),
                }
                for alert in sorted(self.known_alerts())
            },
            "annunciator": self.annunciator.document(),
            "journal": [journal.as_dict(entry) for entry in self.journal],
        }

    def document_bytes(self):
        return json.dumps(self.document(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_document(cls, raw):
        """Rebuild a store from `document_bytes()`; ValueError when it is not one."""
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"state document is not JSON: {error}") from None
        if not isinstance(doc, dict) or doc.get("version") != DOCUMENT_VERSION or \
                not isinstance(doc.get("alerts"), dict):
            raise ValueError(f"state document is not version {DOCUMENT_VERSION}")
        store = cls()
        for alert, entry in doc["alerts"].items():
            if not isinstance(alert, str) or topic_safe(alert) != alert or \
                    not isinstance(entry, dict):
                raise ValueError(f"state document: bad entry for alert {alert!r}")
            firing, devices = entry.get("firing", {}), entry.get("devices", [])
            if not isinstance(firing, dict) or not isinstance(devices, list) or any(
                    d is not None and device_problem(d) for d in [*firing.values(), *devices]):
                raise ValueError(f"state document: bad instances for alert {alert!r}")
            store.firing[alert] = dict(firing)
            store.devices[alert] = set(devices) | {d for d in firing.values() if d is not None}
        # Both parts are missing from an older webhook's document: start from "normal".
        store.annunciator.restore(doc.get("annunciator", {}))
        entries = doc.get("journal", [])
        if not isinstance(entries, list):
            raise ValueError("state document: journal must be an array")
        try:
            store.journal = [journal.from_dict(entry) for entry in entries]
        except journal.BadEntry as error:
            raise ValueError(f"state document: bad journal entry: {error}") from None
        return store


def changed(desired, published):
    """The subset of `desired` {topic: value} that differs from what was last acknowledged."""
    return {topic: value for topic, value in desired.items() if published.get(topic) != value}
