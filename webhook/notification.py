"""Grafana notifications (unified and legacy, and so Alertmanager's) -> alert instance updates.

Pure functions: `parse(payload)` takes the decoded JSON and returns a `Notification`, or raises
`NotANotification` when the JSON is no alert notification at all. A malformed alert inside a
valid notification is rejected on its own (with a reason) and the others still count.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from webhook.topics import MAX_ALERT_CHARS, alert_name_problem, device_problem, topic_safe

# Grafana's Test button (unified: alertname TestAlert) and the alerts Grafana raises for a rule
# whose query returned nothing or failed: they say nothing about the watched value.
IGNORED_ALERTNAMES = {
    "TestAlert": "Grafana test notification",
    "DatasourceNoData": "the rule's query returned no data",
    "DatasourceError": "the rule's query failed",
}
UNIFIED_STATUSES = {"firing": True, "resolved": False}
# Legacy alerting: state -> firing (True), resolved (False) or None (acknowledged, no change).
LEGACY_STATES = {"alerting": True, "ok": False, "paused": False, "no_data": None, "pending": None}
LEGACY_TEST_RULE = "Test notification"
LEGACY_TEST_MESSAGE = "someone is testing the alert notification"
# Grafana's are 16 hex digits; the bound keeps the retained state document bounded.
MAX_FINGERPRINT_CHARS = 128
_FNV64_OFFSET, _FNV64_PRIME = 14695981039346656037, 1099511628211


class NotANotification(ValueError):
    """The JSON is valid but is no alert notification (answered 422)."""


@dataclass(frozen=True)
class InstanceUpdate:
    alert: str  # topic-safe alert name
    key: str  # the instance's fingerprint
    firing: bool
    device: str | None = None
    # Grafana's startsAt (the start of this firing episode) and, once resolved, endsAt, in
    # epoch ms; None when absent or the zero time. They order replayed notifications.
    starts_at: int | None = field(default=None, compare=False)
    ends_at: int | None = field(default=None, compare=False)
    # For the console's alarm summary (`.../info`): the value, threshold and summary text.
    details: dict = field(default=None, compare=False)


@dataclass(frozen=True)
class Skipped:
    index: int | None  # position in alerts[], None for a legacy notification
    alertname: str | None
    reason: str

    def as_dict(self):
        return {"index": self.index, "alertname": self.alertname, "reason": self.reason}


@dataclass
class Notification:
    format: str  # "unified" or "legacy"
    updates: list[InstanceUpdate] = field(default_factory=list)
    # (alert, key): this notification is the complete list of that alert's firing instances
    # with this key (or "key:<device>"), or of all its instances when key is None, so held
    # instances that it does not list are resolved.
    snapshots: list[tuple[str, str | None]] = field(default_factory=list)
    ignored: list[Skipped] = field(default_factory=list)  # acknowledged, never change state
    rejected: list[Skipped] = field(default_factory=list)  # malformed alerts
    warnings: list[str] = field(default_factory=list)

    @property
    def alerts(self):
        return {u.alert for u in self.updates} | {alert for alert, _ in self.snapshots}

    @property
    def newest(self):
        """The latest time this notification knows of (ms): its alerts' startsAt and its
        resolved alerts' endsAt; None when it carries none. An instance that started after it
        cannot be in it."""
        times = [t for u in self.updates for t in (u.starts_at, u.ends_at) if t is not None]
        return max(times) if times else None


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def labels_fingerprint(labels):
    """A label set's fingerprint as Prometheus/Alertmanager compute it (FNV-1a 64 over the sorted
    `name 0xff value 0xff` pairs), for alerts sent without one (old Alertmanagers). Never equal to
    Grafana's, which also hashes labels it strips from the payload."""
    digest = _FNV64_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode(errors="surrogatepass") + b"\xff":
                digest = ((digest ^ byte) * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def time_ms(value):
    """Grafana's RFC 3339 time (nanoseconds allowed) -> epoch ms; None for anything else and for
    times before 1971 (Go's zero time `0001-01-01T00:00:00Z` means "none")."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if not match:
        return None
    whole, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]
    try:
        moment = datetime.fromisoformat(whole + fraction + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    ms = int(moment.timestamp() * 1000)
    return ms if ms >= 365 * 86400 * 1000 else None


def parse(payload):
    if not isinstance(payload, dict):
        kind = "an array" if isinstance(payload, list) else f"a {type(payload).__name__}"
        raise NotANotification(f"expected a JSON object, got {kind}")
    if "alerts" in payload:
        return _parse_unified(payload)
    if "ruleName" in payload or "state" in payload:
        return _parse_legacy(payload)
    raise NotANotification("neither a unified notification (alerts[]) nor a legacy one "
                           "(ruleName, state)")


def _parse_unified(payload):
    alerts = payload["alerts"]
    if not isinstance(alerts, list):
        raise NotANotification("alerts must be an array")
    notification = Notification("unified")
    for index, alert in enumerate(alerts):
        _parse_unified_alert(index, alert, notification)
    if alerts and len(notification.rejected) == len(alerts):
        raise NotANotification("no valid alert: " + notification.rejected[0].reason)
    whole = _whole_state_of(payload, notification)
    if whole:
        notification.snapshots.append((whole, None))
    return notification


# Grouped by exactly this (the provisioned `group_by: [alertname]`), a notification lists every
# current instance of its alert. Grafana's default policy adds the folder: two rules of one name
# in two folders would then each look like the whole state, and resolve each other's instances.
_WHOLE_STATE_GROUPING = {"alertname"}


def _whole_state_of(payload, notification):
    """The alert whose whole state this notification is, or None when it may not be: grouped
    otherwise, truncated (maxAlerts), or with an alert it could not read."""
    group = payload.get("groupLabels")
    if not isinstance(group, dict) or set(group) != _WHOLE_STATE_GROUPING:
        return None
    truncated = payload.get("truncatedAlerts", 0)
    name = group["alertname"]
    if type(truncated) is not int or truncated != 0 or notification.rejected or \
            alert_name_problem(name) or name in IGNORED_ALERTNAMES:
        return None
    alert = topic_safe(name)
    if any(update.alert != alert for update in notification.updates):
        return None
    return alert


def _parse_unified_alert(index, alert, notification):
    def reject(reason, name=None):
        notification.rejected.append(Skipped(index, name, reason))

    if not isinstance(alert, dict):
        return reject(f"alerts[{index}] is not an object")
    labels = alert.get("labels")
    if not isinstance(labels, dict) or not all(
            isinstance(v, str) for v in labels.values()):
        return reject(f"alerts[{index}].labels must be an object of strings")
    name = labels.get("alertname")
    if not isinstance(name, str) or not topic_safe(name):
        return reject(f"alerts[{index}] has no alertname label with a letter or digit")
    if len(topic_safe(name)) > MAX_ALERT_CHARS:
        return reject(f"alerts[{index}] alertname is longer than {MAX_ALERT_CHARS} characters",
                      _short(name))
    if name in IGNORED_ALERTNAMES:
        reason = IGNORED_ALERTNAMES[name]
        if labels.get("rulename"):
            reason += f" (rule {_short(labels['rulename'])})"
        notification.ignored.append(Skipped(index, name, reason))
        return None
    status = alert.get("status")
    if not isinstance(status, str) or status not in UNIFIED_STATUSES:
        return reject(f"alerts[{index}].status must be 'firing' or 'resolved', got "
                      f"{_short(status)}", name)
    fingerprint = alert.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        fingerprint = labels_fingerprint(labels)
    elif not isinstance(fingerprint, str) or len(fingerprint) > MAX_FINGERPRINT_CHARS:
        return reject(f"alerts[{index}].fingerprint must be a string of at most "
                      f"{MAX_FINGERPRINT_CHARS} characters", name)
    device = labels.get("device")
    if device is not None:
        problem = device_problem(device)
        if problem:
            notification.warnings.append(
                f"alerts[{index}] device label {_short(device)} {problem}: no device topic")
            device = None
    firing = UNIFIED_STATUSES[status]
    notification.updates.append(InstanceUpdate(
        topic_safe(name), fingerprint, firing, device, time_ms(alert.get("startsAt")),
        None if firing else time_ms(alert.get("endsAt")), _details(alert)))
    return None


MAX_SUMMARY_CHARS = 500


def _details(alert):
    """{"value", "threshold", "summary"} of a unified alert, each None when it does not say: the
    value is the first of Grafana's `values` in refId order (the provisioned rules' reduced
    mean, B), the threshold and summary its `threshold` and `summary` annotations."""
    values = alert.get("values")
    value = None
    if isinstance(values, dict):
        numbers = [values[k] for k in sorted(values) if type(values[k]) in (int, float)]
        value = numbers[0] if numbers else None
    annotations = alert.get("annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    try:
        threshold = float(annotations.get("threshold"))
    except (TypeError, ValueError):
        threshold = None
    summary = annotations.get("summary")
    summary = summary[:MAX_SUMMARY_CHARS] if isinstance(summary, str) and summary else None
    return {"value": value, "threshold": threshold, "summary": summary}


def _parse_legacy(payload):
    name, state = payload.get("ruleName"), payload.get("state")
    if alert_name_problem(name):
        raise NotANotification(f"legacy notification: ruleName must be a string with a letter "
                               f"or digit, at most {MAX_ALERT_CHARS} characters")
    if not isinstance(state, str) or state.lower() not in LEGACY_STATES:
        raise NotANotification(f"legacy notification: state must be one of "
                               f"{', '.join(LEGACY_STATES)}, got {_short(state)}")
    state = state.lower()
    notification = Notification("legacy")
    message = payload.get("message")
    if name == LEGACY_TEST_RULE and isinstance(message, str) and \
            message.lower().startswith(LEGACY_TEST_MESSAGE):
        notification.ignored.append(Skipped(None, name, "Grafana test notification"))
        return notification
    firing = LEGACY_STATES[state]
    if firing is None:
        notification.ignored.append(Skipped(None, name, f"legacy state {_short(state)}"))
        return notification
    alert = topic_safe(name)
    rule_id = payload.get("ruleId")
    key = f"legacy:{rule_id}" if type(rule_id) is int and 0 <= rule_id < 2**63 \
        else f"legacy:{alert}"
    notification.snapshots.append((alert, key))
    if not firing:
        return notification
    devices = _legacy_devices(payload.get("evalMatches"), notification)
    for device in devices:
        notification.updates.append(InstanceUpdate(alert, f"{key}:{device}", True, device))
    if not devices:
        notification.updates.append(InstanceUpdate(alert, key, True))
    return notification


def _legacy_devices(matches, notification):
    """The `device` tags of a legacy notification's evalMatches, in order, without repeats."""
    devices = []
    if not isinstance(matches, list):
        return devices
    for match in matches:
        tags = match.get("tags") if isinstance(match, dict) else None
        device = tags.get("device") if isinstance(tags, dict) else None
        if device is None:
            continue
        problem = device_problem(device)
        if problem:
            notification.warnings.append(f"evalMatches device tag {_short(device)} {problem}")
        elif device not in devices:
            devices.append(device)
    return devices
