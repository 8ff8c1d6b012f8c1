"""Load Grafana's alert-rule provisioning files, accepting only the subset the stand-in implements.

Anything else (other expression types, reducers, evaluators, macros, state options) is refused
with an UnsupportedRule error naming the file, the rule and the construct.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION_DATASOURCE = "__expr__"
REDUCERS = {"mean", "min", "max", "sum", "count", "last"}
EVALUATORS = {"gt": 1, "lt": 1, "within_range": 2, "outside_range": 2}
NO_DATA_STATES = {"NoData", "Alerting", "OK", "KeepLast"}
ERROR_STATES = {"Error", "Alerting", "OK", "KeepLast"}
MACROS = {"$timeFilter", "$__interval", "$__interval_ms"}
RULE_KEYS = {"uid", "title", "condition", "data", "for", "noDataState", "execErrState", "labels",
             "annotations", "isPaused", "dashboardUid", "panelId"}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class UnsupportedRule(ValueError):
    """The rule file uses something the stand-in does not implement (or is malformed)."""


def parse_duration(text):
    """Grafana/Prometheus durations: `10s`, `1m30s`, `500ms`; a bare number means seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    text = str(text).strip()
    if not text or _DURATION.sub("", text):
        raise UnsupportedRule(f"invalid duration {text!r}")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))


@dataclass(frozen=True)
class Query:
    ref_id: str
    datasource_uid: str
    influxql: str
    range_from: float
    range_to: float
    interval_ms: int


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    folder: str
    group: str
    interval: float
    query: Query
    reducer: str
    evaluator: str
    params: tuple
    pending_for: float
    no_data_state: str
    exec_err_state: str
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)


def load_rules(path):
    """All rules from one provisioning file, or from every *.yaml/*.yml file in a folder."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")) \
        if path.is_dir() else [path]
    rules = []
    for file in files:
        document = yaml.safe_load(file.read_text()) or {}
        for group in document.get("groups") or []:
            for raw in group.get("rules") or []:
                rules.append(_rule(file, group, raw))
    return rules


def _rule(file, group, raw):
    where = f"{file.name}: rule {raw.get('uid') or raw.get('title')!r}"
    try:
        unknown = set(raw) - RULE_KEYS
        if unknown:
            raise UnsupportedRule(f"rule settings {sorted(unknown)} are not implemented")
        if raw.get("isPaused"):
            raise UnsupportedRule("paused rules are not evaluated")
        steps = {step["refId"]: step for step in raw["data"]}
        threshold = _expression(steps, raw["condition"], "threshold")
        reduce = _expression(steps, threshold["model"]["expression"], "reduce")
        query = _query(steps, reduce["model"]["expression"])
        unused = set(steps) - {raw["condition"], reduce["refId"], query.ref_id}
        if unused:
            raise UnsupportedRule(f"data steps {sorted(unused)} are not part of the chain")
        reducer = reduce["model"].get("reducer")
        if reducer not in REDUCERS:
            raise UnsupportedRule(f"reducer {reducer!r} (supported: {sorted(REDUCERS)})")
        if reduce["model"].get("settings", {}).get("mode") not in (None, "", "dropNN"):
            raise UnsupportedRule(f"reduce mode {reduce['model']['settings']['mode']!r}")
        evaluator, params = _evaluator(threshold["model"])
        no_data = raw.get("noDataState", "NoData")
        exec_err = raw.get("execErrState", "Error")
        if no_data not in NO_DATA_STATES:
            raise UnsupportedRule(f"noDataState {no_data!r}")
        if exec_err not in ERROR_STATES:
            raise UnsupportedRule(f"execErrState {exec_err!r}")
        return Rule(
            uid=raw["uid"], title=raw["title"], folder=group.get("folder", ""),
            group=group["name"], interval=parse_duration(group["interval"]), query=query,
            reducer=reducer, evaluator=evaluator, params=params,
            pending_for=parse_duration(raw.get("for", 0)), no_data_state=no_data,
            exec_err_state=exec_err, labels=dict(raw.get("labels") or {}),
            annotations=dict(raw.get("annotations") or {}),
        )
    except UnsupportedRule as error:
        raise UnsupportedRule(f"{where}: {error}") from None
    except (KeyError, TypeError, AttributeError) as error:
        raise UnsupportedRule(f"{where}: missing or malformed {error}") from None


def _expression(steps, ref_id, kind):
    step = steps.get(ref_id)
    if step is None:
        raise UnsupportedRule(f"refId {ref_id!r} is not defined")
    model = step.get("model") or {}
    if step.get("datasourceUid") != EXPRESSION_DATASOURCE or model.get("type") != kind:
        raise UnsupportedRule(
            f"step {ref_id!r} must be a {kind} expression, found {model.get('type')!r} "
            f"(the stand-in implements only query -> reduce -> threshold)")
    return step


def _query(steps, ref_id):
    step = steps.get(ref_id)
    if step is None:
        raise UnsupportedRule(f"refId {ref_id!r} is not defined")
    model = step.get("model") or {}
    if step.get("datasourceUid") == EXPRESSION_DATASOURCE:
        raise UnsupportedRule(f"step {ref_id!r} must be a data source query")
    if not model.get("rawQuery") or not model.get("query"):
        raise UnsupportedRule(f"step {ref_id!r} must be a raw InfluxQL query (rawQuery: true)")
    macros = set(re.findall(r"\$[A-Za-z_]+", model["query"])) - MACROS
    if macros:
        raise UnsupportedRule(f"query macros {sorted(macros)} (supported: {sorted(MACROS)})")
    time_range = step.get("relativeTimeRange") or {}
    return Query(
        ref_id=ref_id, datasource_uid=step["datasourceUid"], influxql=model["query"],
        range_from=float(time_range.get("from", 600)), range_to=float(time_range.get("to", 0)),
        interval_ms=int(model.get("intervalMs", 1000)),
    )


def _evaluator(model):
    conditions = model.get("conditions") or []
    if len(conditions) != 1:
        raise UnsupportedRule("a threshold needs exactly one condition")
    evaluator = conditions[0]["evaluator"]
    kind, params = evaluator.get("type"), tuple(float(p) for p in evaluator.get("params", ()))
    if kind not in EVALUATORS:
        raise UnsupportedRule(f"threshold evaluator {kind!r} (supported: {sorted(EVALUATORS)})")
    if len(params) < EVALUATORS[kind]:
        raise UnsupportedRule(f"threshold {kind!r} needs {EVALUATORS[kind]} parameter(s)")
    if conditions[0].get("unloadEvaluator"):
        raise UnsupportedRule("threshold recovery (unloadEvaluator) is not implemented")
    return kind, params[:EVALUATORS[kind]]
