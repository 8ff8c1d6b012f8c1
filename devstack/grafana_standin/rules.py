"""Load Grafana's alert-rule provisioning files, accepting only the subset the stand-in implements.

A rule is a graph of steps: raw InfluxQL queries and the expressions reduce, math and threshold
(with an optional recovery threshold). Anything else (other expression types, reducers,
evaluators, macros, rule settings) is refused with an UnsupportedRule error naming the file, the
rule and the construct.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devstack.grafana_standin.expressions import (
    PREDICATES,
    REDUCE_MODES,
    REDUCERS,
    ExpressionError,
    parse_math,
    variables,
)

EXPRESSION_DATASOURCE = "__expr__"
EXPRESSION_TYPES = ("reduce", "math", "threshold")
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
class Expression:
    """One server-side expression step; which fields matter depends on `kind`."""

    ref_id: str
    kind: str
    inputs: tuple
    reducer: str = ""
    mode: str = ""
    replace_with: float = None
    tree: tuple = None
    evaluator: str = ""
    params: tuple = ()
    unload: tuple = None  # (evaluator, params) of the recovery threshold


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    folder: str
    group: str
    interval: float
    queries: tuple
    expressions: tuple  # in evaluation order, the condition last
    condition: str
    pending_for: float
    no_data_state: str
    exec_err_state: str
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    # Provisioned paused (off by default): Grafana does not evaluate it; the stand-in only when
    # named with --rule (as a user would unpause it).
    paused: bool = False

    @property
    def query(self):
        """The first query (Grafana names it in DatasourceNoData/DatasourceError alerts)."""
        return self.queries[0]


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
    uids = [rule.uid for rule in rules]
    duplicates = sorted({uid for uid in uids if uids.count(uid) > 1})
    if duplicates:
        raise UnsupportedRule(f"{path}: rule uids {duplicates} are provisioned twice")
    return rules


def _rule(file, group, raw):
    where = f"{file.name}: rule {raw.get('uid') or raw.get('title')!r}"
    try:
        unknown = set(raw) - RULE_KEYS
        if unknown:
            raise UnsupportedRule(f"rule settings {sorted(unknown)} are not implemented")
        if not isinstance(raw.get("isPaused", False), bool):
            raise UnsupportedRule("isPaused must be true or false")
        steps = {step["refId"]: step for step in raw["data"]}
        order = _evaluation_order(steps, raw["condition"])
        if not _is_expression(steps[raw["condition"]]):
            raise UnsupportedRule("the condition must be an expression (reduce, math or "
                                  "threshold), not a query")
        unused = set(steps) - set(order)
        if unused:
            raise UnsupportedRule(f"data steps {sorted(unused)} are not used by the condition")
        queries = tuple(_query(steps[ref]) for ref in order if not _is_expression(steps[ref]))
        expressions = tuple(_expression(steps[ref]) for ref in order
                            if _is_expression(steps[ref]))
        if not queries:
            raise UnsupportedRule("the rule has no data source query")
        no_data = raw.get("noDataState", "NoData")
        exec_err = raw.get("execErrState", "Error")
        if no_data not in NO_DATA_STATES:
            raise UnsupportedRule(f"noDataState {no_data!r}")
        if exec_err not in ERROR_STATES:
            raise UnsupportedRule(f"execErrState {exec_err!r}")
        return Rule(
            uid=raw["uid"], title=raw["title"], folder=group.get("folder", ""),
            group=group["name"], interval=parse_duration(group["interval"]), queries=queries,
            expressions=expressions, condition=raw["condition"],
            pending_for=parse_duration(raw.get("for", 0)), no_data_state=no_data,
            exec_err_state=exec_err, labels=dict(raw.get("labels") or {}),
            annotations=dict(raw.get("annotations") or {}),
            paused=raw.get("isPaused", False),
        )
    except UnsupportedRule as error:
        raise UnsupportedRule(f"{where}: {error}") from None
    except ExpressionError as error:
        raise UnsupportedRule(f"{where}: {error}") from None
    except (KeyError, TypeError, AttributeError) as error:
        raise UnsupportedRule(f"{where}: missing or malformed {error}") from None


def _is_expression(step):
    return step.get("datasourceUid") == EXPRESSION_DATASOURCE


def _inputs(step):
    model = step.get("model") or {}
    if not _is_expression(step):
        return set()
    kind = model.get("type")
    if kind not in EXPRESSION_TYPES:
        raise UnsupportedRule(f"step {step['refId']!r}: expression type {kind!r} is not "
                              f"implemented (implemented: {', '.join(EXPRESSION_TYPES)})")
    if kind == "math":
        return variables(parse_math(str(model.get("expression", ""))))
    return {model["expression"]}


def _evaluation_order(steps, condition):
    """The steps the condition depends on, each after its inputs (depth-first)."""
    order, visiting = [], set()

    def visit(ref_id):
        if ref_id in order:
            return
        if ref_id not in steps:
            raise UnsupportedRule(f"refId {ref_id!r} is not defined")
        if ref_id in visiting:
            raise UnsupportedRule(f"refId {ref_id!r} depends on itself")
        visiting.add(ref_id)
        for needed in sorted(_inputs(steps[ref_id])):
            visit(needed)
        order.append(ref_id)

    visit(condition)
    return order


def _query(step):
    model = step.get("model") or {}
    ref_id = step["refId"]
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


def _expression(step):
    model, ref_id = step["model"], step["refId"]
    kind = model["type"]
    if kind == "math":
        tree = parse_math(str(model["expression"]))
        return Expression(ref_id, kind, tuple(sorted(variables(tree))), tree=tree)
    if kind == "reduce":
        reducer = model.get("reducer")
        if reducer not in REDUCERS:
            raise UnsupportedRule(f"reducer {reducer!r} (supported: {list(REDUCERS)})")
        settings = model.get("settings") or {}
        mode = settings.get("mode") or ""
        if mode not in REDUCE_MODES:
            raise UnsupportedRule(f"reduce mode {mode!r} (supported: strict, dropNN, "
                                  f"replaceNN)")
        replace_with = settings.get("replaceWithValue")
        if mode == "replaceNN" and not isinstance(replace_with, (int, float)):
            raise UnsupportedRule("reduce mode replaceNN needs a numeric replaceWithValue")
        return Expression(ref_id, kind, (model["expression"],), reducer=reducer, mode=mode,
                          replace_with=replace_with)
    conditions = model.get("conditions") or []
    if len(conditions) != 1:
        raise UnsupportedRule("a threshold needs exactly one condition")
    evaluator, params = _evaluator(conditions[0]["evaluator"], "threshold")
    unload = None
    if conditions[0].get("unloadEvaluator"):
        unload = _evaluator(conditions[0]["unloadEvaluator"], "recovery threshold")
    return Expression(ref_id, kind, (model["expression"],), evaluator=evaluator, params=params,
                      unload=unload)


def _evaluator(evaluator, what):
    kind = evaluator.get("type")
    if kind not in PREDICATES:
        raise UnsupportedRule(f"{what} evaluator {kind!r} (supported: {sorted(PREDICATES)})")
    params = tuple(float(p) for p in evaluator.get("params", ()))
    needed = PREDICATES[kind][0]
    if len(params) < needed:
        raise UnsupportedRule(f"{what} {kind!r} needs {needed} parameter(s)")
    return kind, params[:needed]
