"""Pure evaluation of one rule, following Grafana's alert-instance states.

The queries' series run through the rule's expressions; each number of the condition is an
alert instance, keyed by its labels. An instance goes Normal -> Pending (while `for` has not
elapsed) -> Alerting, and back to Normal when the condition no longer holds ("resolved"). A
series that disappears is resolved after two evaluations, as Grafana marks it stale. No data and
query errors follow the rule's noDataState / execErrState (OK, Alerting and KeepLast apply to
every existing instance). A threshold with a recovery threshold applies it to the instances that
met the condition at the previous evaluation (Pending or Alerting), as Grafana's hysteresis
command does with its "loaded dimensions". Like Grafana (AlertingResultsFromRuleState), an
instance whose state carries a reason, e.g. kept by KeepLast after a query error or no data,
is not loaded: the evaluation after such an error judges it by the firing threshold, so a firing
pot resting between the two thresholds resolves.
"""

from dataclasses import dataclass, field

from devstack.grafana_standin.expressions import (
    ExpressionError,
    Number,
    Series,
    evaluate_math,
    label_key,
    reduce_values,
    threshold,
)
from webhook.notification import labels_fingerprint

NORMAL, PENDING, ALERTING = "Normal", "Pending", "Alerting"
STALE_AFTER_EVALUATIONS = 2


def fill_macros(query, now):
    """The query's InfluxQL with Grafana's macros filled in for an evaluation at `now` (epoch s)."""
    start_ms = int((now - query.range_from) * 1000)
    end_ms = int((now - query.range_to) * 1000)
    return (query.influxql
            .replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
            .replace("$__interval_ms", str(query.interval_ms))
            .replace("$__interval", f"{query.interval_ms}ms"))


def run_expressions(rule, results, loaded=frozenset()):
    """Every step's values: `results` maps each query's refId to its list of Series."""
    values = dict(results)
    for step in rule.expressions:
        if step.kind == "math":
            values[step.ref_id] = evaluate_math(step.tree, values)
        elif step.kind == "reduce":
            values[step.ref_id] = reduce_values(values[step.inputs[0]], step.reducer, step.mode,
                                                step.replace_with)
        else:
            values[step.ref_id] = threshold(values[step.inputs[0]], step.evaluator, step.params,
                                            step.unload, loaded)
    return values


@dataclass
class Instance:
    labels: dict
    series_labels: dict = field(default_factory=dict)
    state: str = NORMAL
    active_at: float | None = None
    starts_at: float | None = None
    ends_at: float | None = None
    values: dict = field(default_factory=dict)
    missing: int = 0
    reason: str = ""  # Grafana's StateReason: "" after an evaluation with data

    @property
    def fingerprint(self):
        return labels_fingerprint(self.labels)

    @property
    def firing(self):
        return self.state == ALERTING


class RuleEvaluator:
    """Holds the instances of one rule; `evaluate()` returns those whose firing state changed."""

    def __init__(self, rule):
        self.rule = rule
        self.instances = {}

    def base_labels(self):
        return {**self.rule.labels, "alertname": self.rule.title,
                "grafana_folder": self.rule.folder}

    def evaluate(self, results, now, error=None):
        """`results`: refId -> list of Series each query returned; `error`: a query's error."""
        condition = None
        if error is None:
            try:
                condition = self._condition(results)
            except ExpressionError as failed:
                error = failed
        reason = ""
        if error is not None:
            reason = "Error"
            outcomes = self._special(self.rule.exec_err_state, "DatasourceError")
        elif not condition:
            reason = "NoData"
            outcomes = self._special(self.rule.no_data_state, "DatasourceNoData")
        else:
            outcomes = {}
            for number, values in condition:
                labels = {**self.base_labels(), **number.labels}
                met = number.value is not None and number.value != 0
                outcomes[labels_fingerprint(labels)] = (labels, number.labels, met, values)
            outcomes.update(self._resolve_special())
        if outcomes is None:  # KeepLast
            for instance in self.instances.values():
                instance.reason = f"{reason}, KeepLast"
            return []
        return self._apply(outcomes, now, reason)

    def _condition(self, results):
        """[(condition number, {refId: value} of that instance)], or [] for no data."""
        if not any(results.values()):
            return []
        for ref_id, series in results.items():
            keys = [label_key(s.labels) for s in series]
            if len(set(keys)) != len(keys):
                raise ExpressionError(f"query {ref_id}: several series have the same labels "
                                      "(Grafana refuses duplicate dimensions)")
        loaded = frozenset(label_key(i.series_labels) for i in self.instances.values()
                           if i.state in (PENDING, ALERTING) and not i.reason)
        values = run_expressions(self.rule, results, loaded)
        condition = values[self.rule.condition]
        if any(isinstance(v, Series) for v in condition):
            raise ExpressionError("the condition is time series data: only reduced data can "
                                  "be alerted on (add a reduce step)")
        numbered = [step.ref_id for step in self.rule.expressions
                    if all(isinstance(v, Number) for v in values[step.ref_id])]
        return [(number, self._instance_values(number.labels, values, numbered))
                for number in condition]

    @staticmethod
    def _instance_values(labels, values, numbered):
        found = {}
        for ref_id in numbered:
            for number in values[ref_id]:
                if number.labels.items() <= labels.items() and number.value is not None:
                    found[ref_id] = number.value
                    break
        return found

    def _special(self, state, alertname):
        if state == "KeepLast":
            return None
        if state in ("OK", "Alerting"):
            # Grafana (10.3+, alertingNoDataErrorExecution) applies the state to every existing
            # instance; only a rule with none gets one instance with the rule's own labels.
            met = state == "Alerting"
            if self.instances:
                return {fp: (i.labels, i.series_labels, met, {})
                        for fp, i in self.instances.items()}
            labels = self.base_labels()
            return {labels_fingerprint(labels): (labels, {}, met, {})}
        labels = {**self.rule.labels, "alertname": alertname, "rulename": self.rule.title,
                  "grafana_folder": self.rule.folder,
                  "datasource_uid": self.rule.query.datasource_uid,
                  "ref_id": self.rule.query.ref_id}
        return {labels_fingerprint(labels): (labels, {}, True, {})}

    def _resolve_special(self):
        return {fp: (i.labels, {}, False, {}) for fp, i in self.instances.items()
                if i.labels.get("alertname") in ("DatasourceNoData", "DatasourceError")}

    def _apply(self, outcomes, now, reason=""):
        changed = []
        for fp, (labels, series_labels, met, values) in outcomes.items():
            instance = self.instances.setdefault(
                fp, Instance(labels=labels, series_labels=series_labels))
            instance.missing, instance.values, instance.reason = 0, values, reason
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
