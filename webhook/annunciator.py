"""ISA-18.2 alarm states for every alert and alert/device pair. Pure: no MQTT, no clock.

Each alert has instances: one per device the alert store knows (`alerts/<alert>/<device>`),
and one for its firing instances without a device label (never published on its own). Each
instance runs the state machine below on `fire`, `clear` and `ack` events.

The alert's summary (`alerts/<alert>/annunciator`) is not a machine of its own: it follows
its instances. It is active when any instance is active (exactly when `alerts/<alert>` is
`1`) and waits for an acknowledgement when any instance does:

    active, waiting -> unacked        active, nothing waiting -> acked
    cleared, waiting -> cleared-unacked   cleared, nothing waiting -> normal

Acknowledging the alert acknowledges every instance; acknowledging a device acknowledges
that instance only (the summary follows). Acknowledging twice changes nothing.
"""

from typing import NamedTuple

from service_common.journal import ACKED, CLEARED_UNACKED, NORMAL, STATES, UNACKED
from webhook.topics import annunciator_topic, device_problem, topic_safe

FIRE, CLEAR, ACK = "fire", "clear", "ack"
EVENTS = (FIRE, CLEAR, ACK)

_ISA = {
    (NORMAL, FIRE): UNACKED,
    (UNACKED, ACK): ACKED,
    (UNACKED, CLEAR): CLEARED_UNACKED,
    (ACKED, CLEAR): NORMAL,
    (CLEARED_UNACKED, ACK): NORMAL,
    (CLEARED_UNACKED, FIRE): UNACKED,
}
# Ringback: a return to normal asks for attention even when the alarm was acknowledged.
_RINGBACK = {**_ISA, (ACKED, CLEAR): CLEARED_UNACKED}
SEQUENCES = {"isa": _ISA, "ringback": _RINGBACK}
MODES = (*SEQUENCES, "off")  # WEBHOOK_ANNUNCIATOR; off publishes no annunciator topics
DEFAULT_MODE = "isa"

_ACTIVE = {UNACKED, ACKED}
_WAITING = {UNACKED, CLEARED_UNACKED}


class UnknownAlarm(LookupError):
    """An acknowledgement for an alert or device the webhook has never seen."""


class Transition(NamedTuple):
    alert: str
    device: str | None  # None: the alert's summary
    from_state: str
    to_state: str
    by: str | None


def next_state(state, event, sequence=DEFAULT_MODE):
    """The state after `event`; events without a transition leave the state as it is."""
    return SEQUENCES[sequence].get((state, event), state)


def summary_state(states):
    """The summary of some instance states (see the module's docstring)."""
    active = any(s in _ACTIVE for s in states)
    waiting = any(s in _WAITING for s in states)
    if active:
        return UNACKED if waiting else ACKED
    return CLEARED_UNACKED if waiting else NORMAL


def active_instances(firing, devices):
    """{device or None: active} from the alert store's `firing` {fingerprint: device or None}
    and the alert's known `devices`."""
    firing_devices = set(firing.values())
    active = {device: device in firing_devices for device in devices}
    active[None] = None in firing_devices
    return active


class Annunciator:
    def __init__(self, sequence=DEFAULT_MODE):
        if sequence not in SEQUENCES:
            raise ValueError(f"unknown annunciator sequence {sequence!r}")
        self.sequence = sequence
        self.instances = {}  # alert -> {device or None: state}

    def known(self, alert, device=None):
        return alert in self.instances and (device is None or device in self.instances[alert])

    def state(self, alert, device=None):
        """The summary's state (device None) or the device instance's."""
        instances = self.instances.get(alert, {})
        if device is None:
            return summary_state(instances.values())
        return instances.get(device, NORMAL)

    def update(self, alert, active):
        """Fire or clear the instances of `alert` after an alert-state change.

        `active` is {device or None: bool} (see active_instances); returns the transitions."""
        return self._change(alert, {device: FIRE if on else CLEAR
                                     for device, on in active.items()}, None)

    def acknowledge(self, alert, device=None, by=None):
        """Acknowledge the alert (device None: every instance) or one device's instance.

        Returns the transitions (none when there was nothing to acknowledge); raises
        UnknownAlarm for an alert or device never seen."""
        if not self.known(alert, device):
            what = f"alert {alert!r}" if device is None else f"device {device!r} of {alert!r}"
            raise UnknownAlarm(f"no {what} is known")
        targets = self.instances[alert] if device is None else (device,)
        return self._change(alert, dict.fromkeys(targets, ACK), by)

    def _change(self, alert, events, by):
        instances = self.instances.setdefault(alert, {None: NORMAL})
        before = summary_state(instances.values())
        transitions = []
        for device, event in events.items():
            old = instances.get(device, NORMAL)
            new = instances[device] = next_state(old, event, self.sequence)
            if new != old and device is not None:
                transitions.append(Transition(alert, device, old, new, by))
        after = summary_state(instances.values())
        if after != before:
            transitions.append(Transition(alert, None, before, after, by))
        return transitions

    def forget(self, known, limit=None):
        """Drop the `normal` instances the alert store forgot: `known` is {alert: its devices}.
        An instance that still waits for an acknowledgement stays until it has one, unless the
        device instances number more than `limit`: then those the store forgot go too, so the
        state document stays bounded. Returns how many waiting instances were dropped."""
        for alert in list(self.instances):
            instances = self.instances[alert]
            for device in [d for d, s in instances.items() if s == NORMAL and
                           (alert not in known or (d is not None and d not in known[alert]))]:
                del instances[device]
            if not instances:
                del self.instances[alert]
        excess = sum(len(i) - (None in i) for i in self.instances.values()) - (limit or 0)
        if limit is None or excess <= 0:
            return 0
        unknown = sorted((alert, device) for alert, instances in self.instances.items()
                         for device in instances
                         if device is not None and device not in known.get(alert, ()))
        for alert, device in unknown[:excess]:
            del self.instances[alert][device]
        return min(excess, len(unknown))

    def topic_values(self, alerts, root, shelves=None):
        """{topic: state} for `alerts`: the summary and one topic per device instance. With
        `shelves` (webhook.shelving.Shelves), a shelved or out-of-service instance shows that
        instead, and the summary follows the instances that are not."""
        values = {}
        for alert in sorted(alerts):
            values[annunciator_topic(root, alert)] = self.shown(alert, None, shelves)
            for device in sorted(d for d in self.instances.get(alert, ()) if d is not None):
                values[annunciator_topic(root, alert, device)] = self.shown(alert, device,
                                                                            shelves)
        return values

    def shown(self, alert, device=None, shelves=None):
        """The state an annunciator topic shows: a shelf's kind where one applies, else the ISA
        state (for the summary: of the instances that are not shelved)."""
        shelf = shelves.get(alert, device) if shelves is not None else None
        if shelf is not None:
            return shelf.kind
        if device is not None or shelves is None:
            return self.state(alert, device)
        return summary_state([state for d, state in self.instances.get(alert, {}).items()
                              if d is None or shelves.get(alert, d) is None])

    def document(self):
        """{alert: {"own": state, "devices": {device: state}}}, JSON-ready and sorted."""
        return {
            alert: {"own": instances.get(None, NORMAL),
                    "devices": {d: s for d, s in sorted(
                        (d, s) for d, s in instances.items() if d is not None)}}
            for alert, instances in sorted(self.instances.items())
        }

    def restore(self, document):
        """Load `document()` output; ValueError when it is not one (nothing is changed then)."""
        if not isinstance(document, dict):
            raise ValueError("annunciator states must be an object")
        instances = {}
        for alert, entry in document.items():
            devices = entry.get("devices") if isinstance(entry, dict) else None
            own = entry.get("own") if isinstance(entry, dict) else None
            if not isinstance(alert, str) or topic_safe(alert) != alert or own not in STATES or \
                    not isinstance(devices, dict) or \
                    any(device_problem(d) or s not in STATES for d, s in devices.items()):
                raise ValueError(f"bad annunciator states for alert {alert!r:.60}")
            instances[alert] = {None: own, **devices}
        self.instances = instances

