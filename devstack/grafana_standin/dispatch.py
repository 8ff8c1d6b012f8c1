"""The timing of Grafana's Alertmanager between the rules and the contact point.

Alerts are grouped by the notification policy's `group_by` labels. A new group waits
`group_wait` before its first flush, then flushes every `group_interval`. A flush sends the
group's whole current set of alerts when it changed since the last notification (an alert that
is newly firing or newly resolved), or when `repeat_interval` passed since then; a group whose
alerts all resolved before its first notification sends nothing. A failed notification is sent
again at the next flush. After a successful flush the resolved alerts leave the group, and an
empty group is removed: the next firing alert starts a new group and waits `group_wait` again.
(Alertmanager's dispatcher and its notification-log dedup stage, one receiver, no routes.)
"""

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from devstack.grafana_standin.rules import UnsupportedRule, parse_duration

# Grafana's defaults for a policy that does not set them.
DEFAULT_GROUP_BY = ("grafana_folder", "alertname")
DEFAULT_GROUP_WAIT, DEFAULT_GROUP_INTERVAL, DEFAULT_REPEAT_INTERVAL = 30.0, 300.0, 4 * 3600.0
POLICY_KEYS = {"orgId", "receiver", "group_by", "group_wait", "group_interval",
               "repeat_interval"}


@dataclass(frozen=True)
class Policy:
    receiver: str = ""
    group_by: tuple = DEFAULT_GROUP_BY
    group_wait: float = DEFAULT_GROUP_WAIT
    group_interval: float = DEFAULT_GROUP_INTERVAL
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL

    def __post_init__(self):
        if self.group_interval <= 0 or self.group_wait < 0 or self.repeat_interval <= 0:
            raise UnsupportedRule(f"policy timings must be positive: {self}")

    def replace(self, **changes):
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_policy(folder):
    """The root notification policy from the provisioning folder's `policies` files."""
    found = []
    for file in sorted(Path(folder).glob("*.y*ml")):
        for raw in (yaml.safe_load(file.read_text()) or {}).get("policies") or []:
            found.append((file.name, raw))
    if len(found) != 1:
        raise UnsupportedRule(f"{folder}: expected one notification policy, found {len(found)}")
    name, raw = found[0]
    unknown = set(raw) - POLICY_KEYS
    if unknown:
        raise UnsupportedRule(f"{name}: policy settings {sorted(unknown)} are not implemented "
                              "(one receiver, no child routes, no mute timings)")
    group_by = tuple(raw.get("group_by") or DEFAULT_GROUP_BY)
    if "..." in group_by:
        raise UnsupportedRule(f"{name}: group_by ['...'] is not implemented")
    return Policy(
        receiver=raw.get("receiver", ""), group_by=group_by,
        group_wait=parse_duration(raw.get("group_wait", DEFAULT_GROUP_WAIT)),
        group_interval=parse_duration(raw.get("group_interval", DEFAULT_GROUP_INTERVAL)),
        repeat_interval=parse_duration(raw.get("repeat_interval", DEFAULT_REPEAT_INTERVAL)),
    )


@dataclass
class Group:
    labels: dict
    next_flush: float
    alerts: dict = dataclasses.field(default_factory=dict)  # fingerprint -> (rule, instance)
    sent: tuple = None  # (firing fingerprints, resolved fingerprints, time) of the last one


class Dispatcher:
    """Aggregation groups; `send(group_labels, [(rule, instance)])` returns True when delivered."""

    def __init__(self, policy, send):
        self.policy, self.send = policy, send
        self.groups = {}

    def receive(self, rule, instances, now):
        """Alerts from one evaluation: every firing instance and every one that just resolved."""
        for instance in instances:
            labels = {k: instance.labels[k] for k in self.policy.group_by if k in instance.labels}
            key = tuple(sorted(labels.items()))
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = Group(labels, now + self.policy.group_wait)
            group.alerts[instance.fingerprint] = (rule, dataclasses.replace(instance))

    def next_due(self):
        return min((g.next_flush for g in self.groups.values()), default=None)

    def flush_due(self, now):
        """Flush every group whose timer expired; returns the number of notifications sent."""
        sent = 0
        for key, group in list(self.groups.items()):
            if group.next_flush > now:
                continue
            interval = self.policy.group_interval
            group.next_flush += interval * (math.floor((now - group.next_flush) / interval) + 1)
            firing = {fp for fp, (_, i) in group.alerts.items() if i.firing}
            resolved = set(group.alerts) - firing
            if self._needs_update(group, firing, resolved, now):
                alerts = sorted(group.alerts.values(), key=lambda pair: pair[1].fingerprint)
                if not self.send(group.labels, alerts):
                    continue
                group.sent = (firing, resolved, now)
                sent += 1
            for fp in resolved:
                del group.alerts[fp]
            if not group.alerts:
                del self.groups[key]
        return sent

    def _needs_update(self, group, firing, resolved, now):
        if group.sent is None:
            return bool(firing)
        sent_firing, sent_resolved, sent_at = group.sent
        if not firing <= sent_firing:
            return True
        if not firing:
            return bool(sent_firing)
        if not resolved <= sent_resolved:
            return True
        return now - sent_at >= self.policy.repeat_interval
