"""The timing of Grafana's Alertmanager between the rules and the contact point.

Alerts are grouped by the notification policy's `group_by` labels. A new group waits
`group_wait` before its first flush, then flushes every `group_interval`. A flush sends the
group's whole current set of alerts when it changed since the last notification (an alert that
is newly firing or newly resolved), or when `repeat_interval` passed since then; a group whose
alerts all resolved before its first notification sends nothing. A failed notification is sent
again at the next flush. After a successful flush the resolved alerts leave the group; an
empty group stays until the dispatcher's maintenance, every 30 s from its start, removes it: an
alert that fires again before that joins the old group and goes out at its next
`group_interval` tick, after it a new group waits `group_wait` again. A new group whose alert
started longer than `group_wait` ago flushes at once (Alertmanager's insert). What was last
sent to a group is kept per group key, like the notification log, whatever the group's
lifetime. (Alertmanager's dispatcher and its notification-log dedup stage, one receiver, no
routes.)
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
MAINTENANCE_INTERVAL = 30.0  # Alertmanager's dispatcher removes empty groups this often
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
    flushed: bool = False
    emptied_at: float | None = None  # when its last alert left it


class Dispatcher:
    """Aggregation groups; `send(group_labels, [(rule, instance)])` returns True when delivered."""

    def __init__(self, policy, send, started=0.0):
        self.policy, self.send = policy, send
        self.started = started  # the maintenance ticks are started + k * MAINTENANCE_INTERVAL
        self.groups = {}
        self.log = {}  # group key -> (firing, resolved, time) last sent: the notification log

    def receive(self, rule, instances, now):
        """Alerts from one evaluation: every firing instance and every one that just resolved."""
        for instance in instances:
            labels = {k: instance.labels[k] for k in self.policy.group_by if k in instance.labels}
            key = tuple(sorted(labels.items()))
            group = self.groups.get(key)
            if group is not None and self._removed(group, now):
                del self.groups[key]
                group = None
            if group is None:
                group = self.groups[key] = Group(labels, now + self.policy.group_wait)
            group.alerts[instance.fingerprint] = (rule, dataclasses.replace(instance))
            group.emptied_at = None
            started = instance.starts_at
            if not group.flushed and started is not None and \
                    started + self.policy.group_wait <= now:
                group.next_flush = min(group.next_flush, now)

    def _removed(self, group, now):
        """Whether a maintenance tick removed the empty `group` before `now`."""
        if group.emptied_at is None:
            return False
        ticks = math.floor((group.emptied_at - self.started) / MAINTENANCE_INTERVAL) + 1
        return now >= self.started + ticks * MAINTENANCE_INTERVAL

    def next_due(self):
        return min((g.next_flush for g in self.groups.values() if g.alerts), default=None)

    def flush_due(self, now):
        """Flush every group whose timer expired; returns the number of notifications sent."""
        sent = 0
        for key, group in list(self.groups.items()):
            if self._removed(group, now):
                del self.groups[key]
                continue
            if group.next_flush > now:
                continue
            interval = self.policy.group_interval
            group.next_flush += interval * (math.floor((now - group.next_flush) / interval) + 1)
            if not group.alerts:
                continue
            group.flushed = True
            firing = {fp for fp, (_, i) in group.alerts.items() if i.firing}
            resolved = set(group.alerts) - firing
            if self._needs_update(key, firing, resolved, now):
                alerts = sorted(group.alerts.values(), key=lambda pair: pair[1].fingerprint)
                if not self.send(group.labels, alerts):
                    continue
                self.log[key] = (firing, resolved, now)
                sent += 1
            for fp in resolved:
                del group.alerts[fp]
            if not group.alerts:
                group.emptied_at = now
        return sent

    def _needs_update(self, key, firing, resolved, now):
        if key not in self.log:
            return bool(firing)
        sent_firing, sent_resolved, sent_at = self.log[key]
        if not firing <= sent_firing:
            return True
        if not firing:
            return bool(sent_firing)
        if not resolved <= sent_resolved:
            return True
        return now - sent_at >= self.policy.repeat_interval
