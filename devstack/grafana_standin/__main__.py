"""Development stand-in for Grafana's alerting. NOT Grafana, and never deployed.

It reads the provisioned rule, contact point and policy files, runs each rule's InfluxQL queries
on a real InfluxDB every evaluation interval, evaluates the rule's expressions (math, reduce,
threshold with its recovery threshold) per series, and hands the alerts to a model of Grafana's
Alertmanager (groups, group_wait, group_interval, repeat_interval from the policy), which posts
Grafana's unified webhook body to the contact point. It refuses what it does not implement.

    python -m devstack.grafana_standin --influxdb-url http://127.0.0.1:8086 \
        --webhook-url http://127.0.0.1:5000/alert [--rule pot-high] [--interval 1] [--window 3] \
        [--group-wait 0] [--group-interval 1]

Without the overrides every timing is the provisioned one (as deployed).
"""

import argparse
import dataclasses
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import requests
import yaml
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError

from devstack.grafana_standin.dispatch import Dispatcher, load_policy
from devstack.grafana_standin.evaluate import RuleEvaluator, fill_macros
from devstack.grafana_standin.expressions import Series
from devstack.grafana_standin.notify import WebhookPoster, notification
from devstack.grafana_standin.rules import UnsupportedRule, load_rules
from devstack.paths import ROOT

log = logging.getLogger("grafana-standin")
DEFAULT_FOLDER = ROOT / "grafana" / "provisioning" / "alerting"
_ENV_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def interpolate(value, environ):
    """Grafana's `$VAR` / `${VAR}` interpolation of provisioning values."""
    if not isinstance(value, str):
        return value
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), value)


def load_contact_point(folder, environ):
    """The webhook contact point's settings, interpolated from the environment."""
    for file in sorted(Path(folder).glob("*.y*ml")):
        document = yaml.safe_load(file.read_text()) or {}
        for point in document.get("contactPoints") or []:
            for receiver in point.get("receivers") or []:
                if receiver.get("type") == "webhook":
                    return {k: interpolate(v, environ)
                            for k, v in (receiver.get("settings") or {}).items()}
    return {}


def shrink_window(rule, window):
    """The rule looking back less far (demo speed): its shortest query range becomes `window` s
    and its other ranges shrink by the same factor, so windows keep their proportions."""
    factor = window / min(q.range_from - q.range_to for q in rule.queries)
    return dataclasses.replace(rule, queries=tuple(
        dataclasses.replace(q, range_from=q.range_from * factor, range_to=q.range_to * factor)
        for q in rule.queries))


class StandIn:
    """Evaluates every rule on its schedule and feeds the dispatcher; `tick()` does what is due."""

    def __init__(self, rules, influx, poster, policy, interval=None, clock=time.time):
        self.evaluators = [RuleEvaluator(rule) for rule in rules]
        self.influx, self.poster, self.clock = influx, poster, clock
        self.dispatcher = Dispatcher(policy, self._send, started=self.clock())
        self.interval = interval
        self._next_evaluation = {e.rule.uid: 0.0 for e in self.evaluators}
        self.delivered = []

    def query(self, rule, now):
        """refId -> list of Series, or (None, error)."""
        results = {}
        for query in rule.queries:
            try:
                answer = self.influx.query(fill_macros(query, now), epoch="ms")
            except (InfluxDBClientError, InfluxDBServerError, requests.RequestException) as error:
                return None, error
            series = []
            for (_, tags), points in answer.items():
                points = list(points)
                labels = {k: v for k, v in (tags or {}).items() if v != ""}
                columns = [k for k in (points[0] if points else {}) if k != "time"]
                if len(columns) > 1:
                    return None, ValueError(f"query {query.ref_id}: one field per query, got "
                                            f"{columns}")
                series.append(Series(labels, [(p["time"], _number(p[columns[0]]))
                                              for p in points]))
            results[query.ref_id] = series
        return results, None

    def evaluate(self, evaluator, now):
        results, error = self.query(evaluator.rule, now)
        changed = evaluator.evaluate(results, now, error)
        self.dispatcher.receive(evaluator.rule, changed + [i for i in evaluator.firing()
                                                           if i not in changed], now)

    def tick(self):
        """Evaluate the rules that are due, flush the groups that are due; returns what was sent."""
        self.delivered = []
        now = self.clock()
        for evaluator in self.evaluators:
            if now >= self._next_evaluation[evaluator.rule.uid]:
                self._next_evaluation[evaluator.rule.uid] = now + (
                    self.interval or evaluator.rule.interval)
                self.evaluate(evaluator, now)
        self.dispatcher.flush_due(self.clock())
        return self.delivered

    def evaluate_once(self):
        """Evaluate every rule now, then flush what is due; returns the delivered bodies."""
        for uid in self._next_evaluation:
            self._next_evaluation[uid] = 0.0
        return self.tick()

    def next_wake(self):
        due = [*self._next_evaluation.values(), self.dispatcher.next_due() or float("inf")]
        return min(due)

    def _send(self, group_labels, alerts):
        body = notification(group_labels, alerts)
        if not self.poster.post(body):
            return False
        self.delivered.append(body)
        log.info("notified %s: %s", body["groupLabels"], body["message"])
        return True

    def run(self, stop):
        while not stop.is_set():
            self.tick()
            stop.wait(max(0.0, min(self.next_wake() - self.clock(), 1.0)))


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def build(args, environ):
    rules = load_rules(args.rules)
    if args.rule:
        unknown = set(args.rule) - {r.uid for r in rules}
        if unknown:
            raise UnsupportedRule(f"--rule {sorted(unknown)}: no such rule in {args.rules}")
        rules = [r for r in rules if r.uid in args.rule]
    else:
        rules = [r for r in rules if not r.paused]   # as Grafana: paused rules are not evaluated
    if not rules:
        raise UnsupportedRule(f"no alert rules in {args.rules}")
    if args.window is not None:
        rules = [shrink_window(r, args.window) for r in rules]
    folder = Path(args.rules) if Path(args.rules).is_dir() else Path(args.rules).parent
    policy = load_policy(folder).replace(group_wait=args.group_wait,
                                         group_interval=args.group_interval)
    settings = load_contact_point(folder, environ)
    url = args.webhook_url or settings.get("url")
    if not url:
        raise UnsupportedRule("no webhook contact point and no --webhook-url")
    poster = WebhookPoster(
        url,
        environ.get("WEBHOOK_USERNAME") or settings.get("username"),
        environ.get("WEBHOOK_PASSWORD") or settings.get("password"),
        environ.get("WEBHOOK_HMAC_SECRET") or None,
        environ.get("WEBHOOK_HMAC_TIMESTAMP_HEADER") or None,
    )
    influx = InfluxDBClient.from_dsn(
        args.influxdb_url.replace("http://", "influxdb://").replace("https://", "https+influxdb://"),
        database=args.database, username=args.influxdb_username, password=args.influxdb_password,
        timeout=5)
    return StandIn(rules, influx, poster, policy, args.interval)


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default=str(DEFAULT_FOLDER),
                        help="provisioning folder or rule file (default: %(default)s)")
    parser.add_argument("--rule", action="append", metavar="UID",
                        help="evaluate only this rule (repeatable; default: every rule)")
    parser.add_argument("--influxdb-url", default=environ.get("INFLUXDB_URL",
                                                              "http://localhost:8086"))
    parser.add_argument("--database", default=environ.get("INFLUXDB_DATABASE", "iot"))
    parser.add_argument("--influxdb-username", default=environ.get("INFLUXDB_USERNAME"))
    parser.add_argument("--influxdb-password", default=environ.get("INFLUXDB_PASSWORD"))
    parser.add_argument("--webhook-url", help="override the contact point's URL")
    parser.add_argument("--interval", type=float,
                        help="evaluation interval in s, overriding the rule group's (demo speed)")
    parser.add_argument("--window", type=float,
                        help="s: each rule's shortest query range becomes this, its other "
                             "ranges shrink in proportion (demo speed)")
    parser.add_argument("--group-wait", type=float,
                        help="s, overriding the policy's group_wait (demo speed)")
    parser.add_argument("--group-interval", type=float,
                        help="s, overriding the policy's group_interval (demo speed)")
    parser.add_argument("--once", action="store_true", help="evaluate once and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        standin = build(args, environ)
    except UnsupportedRule as error:
        print(f"grafana-standin: {error}", file=sys.stderr)
        return 2
    policy = standin.dispatcher.policy
    log.info("development stand-in for Grafana alerting: %d rule(s); group_wait %.1f s, "
             "group_interval %.1f s, repeat_interval %.0f s", len(standin.evaluators),
             policy.group_wait, policy.group_interval, policy.repeat_interval)
    if args.once:
        standin.evaluate_once()
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        standin.run(stop)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
