"""Pure evaluation of one rule, following Grafana's alert-instance states.

Each series the query returns is an alert instance, keyed by its labels. An instance goes
Normal -> Pending (while `for` has not elapsed) -> Alerting, and back to Normal when the
condition no longer holds ("resolved"). A series that disappears is resolved after two
evaluations, as Grafana marks it stale. No data and query errors follow the rule's
noDataState / execErrState (OK, Alerting and KeepLast apply to every existing instance).
"""

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

NORMAL, PENDING, ALERTING = "Normal", "Pending", "Alerting"
STALE_AFTER_EVALUATIONS = 2
ZERO_TIME = "0001-01-01T00:00:00Z"


def fill_macros(rule, now):
    """The rule's InfluxQL with Grafana's macros filled in for an evaluation at `now` (epoch s)."""
    query = rule.query
    start_ms = int((now - query.range_from) * 1000)
    end_ms = int((now - query.range_to) * 1000)
    return (query.influxql
            .replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
            .replace("$__interval_ms", str(query.interval_ms))
            .replace("$__interval", f"{query.interval_ms}ms"))


def reduce_values(values, reducer):
    numbers = [float(v) for v in values
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if reducer == "count":
        return float(len(numbers))
    if not numbers:
        return None
    if reducer == "mean":
        return sum(numbers) / len(numbers)
    return {"min": min, "max": max, "sum": sum, "last": lambda n: n[-1]}[reducer](numbers)


def threshold_met(value, evaluator, params):
    if value is None:
        return False
    if evaluator == "gt":
        return value > params[0]
    if evaluator == "lt":
        return value < params[0]
    inside = params[0] < value < params[1]
    return inside if evaluator == "within_range" else not inside


def fingerprint(labels):
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Instance:
    labels: dict
    state: str = NORMAL
    active_at: Optional[float] = None
    starts_at: Optional[float] = None
    ends_at: Optional[float] = None
    value: Optional[float] = None
    missing: int = 0
    annotations: dict = field(default_factory=dict)

    @property
    def fingerprint(self):
        return fingerprint(self.labels)


class RuleEvaluator:
    """Holds the instances of one rule; `evaluate()` returns those whose firing state changed."""

    def __init__(self, rule):
        self.rule = rule
        self.instances = {}

    def base_labels(self):
        return {**self.rule.labels, "alertname": self.rule.title,
                "grafana_folder": self.rule.folder}

    def evaluate(self, series, now, error=None):
        """`series`: list of (tags, values) the query returned; `error`: the query's error."""
        outcomes = {}
        if error is not None:
            outcomes = self._special(self.rule.exec_err_state, "DatasourceError")
        elif not series:
            outcomes = self._special(self.rule.no_data_state, "DatasourceNoData")
        else:
            for tags, values in series:
                value = reduce_values(values, self.rule.reducer)
                labels = {**self.base_labels(), **tags}
                met = threshold_met(value, self.rule.evaluator, self.rule.params)
                outcomes[fingerprint(labels)] = (labels, met, value)
            outcomes.update(self._resolve_special())
        if outcomes is None:  # KeepLast
            return []
        return self._apply(outcomes, now)

    def _special(self, state, alertname):
        if state == "KeepLast":
            return None
        if state in ("OK", "Alerting"):
            # Grafana (10.3+, alertingNoDataErrorExecution) applies the state to every existing
            # instance; only a rule with none gets one instance with the rule's own labels.
            met = state == "Alerting"
            if self.instances:
                return {fp: (i.labels, met, None) for fp, i in self.instances.items()}
            return {fingerprint(self.base_labels()): (self.base_labels(), met, None)}
        labels = {**self.rule.labels, "alertname": alertname, "rulename": self.rule.title,
                  "grafana_folder": self.rule.folder,
                  "datasource_uid": self.rule.query.datasource_uid,
                  "ref_id": self.rule.query.ref_id}
        return {fingerprint(labels): (labels, True, None)}

    def _resolve_special(self):
        return {fp: (i.labels, False, None) for fp, i in self.instances.items()
                if i.labels.get("alertname") in ("DatasourceNoData", "DatasourceError")}

    def _apply(self, outcomes, now):
        changed = []
        for fp, (labels, met, value) in outcomes.items():
            instance = self.instances.setdefault(fp, Instance(labels=labels))
            instance.missing, instance.value = 0, value
            if self._step(instance, met, now):
                changed.append(instance)
        for fp, instance in list(self.instances.items()):
            if fp in outcomes:
                continue
            instance.missing += 1
            if instance.missing >= STALE_AFTER_EVALUATIONS and self._step(instance, False, now):
                changed.append(instance)
        for fp in [fp for fp, i in self.instances.items() if i.state == NORMAL]:
            if self.instances[fp] not in changed:
                del self.instances[fp]
        return changed

    def _step(self, instance, met, now):
        """Advance one instance; True when it started or stopped firing."""
        if met:
            if instance.state == NORMAL:
                instance.state, instance.active_at = PENDING, now
            if instance.state == PENDING and now - instance.active_at >= self.rule.pending_for:
                instance.state, instance.starts_at, instance.ends_at = ALERTING, now, None
                return True
            return False
        was_firing = instance.state == ALERTING
        instance.state, instance.active_at = NORMAL, None
        if was_firing:
            instance.ends_at = now
        return was_firing

    def firing(self):
        return [i for i in self.instances.values() if i.state == ALERTING]


def notification(rule, alerts, receiver="webhook", external_url="http://localhost:3000/"):
    """Grafana's unified-alerting webhook body for `alerts` (firing and resolved instances)."""
    entries = [_alert_entry(rule, i, external_url) for i in alerts]
    firing = [e for e in entries if e["status"] == "firing"]
    group_labels = {"alertname": rule.title, "grafana_folder": rule.folder}
    common = dict(set.intersection(*(set(e["labels"].items()) for e in entries))) \
        if entries else {}
    status = "firing" if firing else "resolved"
    return {
        "receiver": receiver,
        "status": status,
        "orgId": 1,
        "alerts": entries,
        "groupLabels": group_labels,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "version": "1",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in group_labels.items()) + "}",
        "truncatedAlerts": 0,
        "title": f"[{status.upper()}:{len(firing)}] {rule.title} ({rule.folder})",
        "state": "alerting" if firing else "ok",
        "message": f"{len(firing)} firing, {len(entries) - len(firing)} resolved",
    }


def _alert_entry(rule, instance, external_url):
    firing = instance.state == ALERTING
    values = {} if instance.value is None else {"B": instance.value}
    return {
        "status": "firing" if firing else "resolved",
        "labels": dict(instance.labels),
        "annotations": dict(rule.annotations),
        "startsAt": rfc3339(instance.starts_at or 0),
        "endsAt": ZERO_TIME if firing else rfc3339(instance.ends_at or 0),
        "generatorURL": f"{external_url}alerting/grafana/{rule.uid}/view",
        "fingerprint": instance.fingerprint,
        "silenceURL": "",
        "dashboardURL": "",
        "panelURL": "",
        "values": values,
        "valueString": f"[ var='B' labels={{}} value={instance.value} ]",
    }
