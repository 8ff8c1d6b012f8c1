"""Development stand-in for Grafana's alert evaluation. NOT Grafana, and never deployed.

It reads the provisioned rule, contact point and policy files, runs each rule's InfluxQL on a
real InfluxDB every evaluation interval, reduces and thresholds it per series, and posts
Grafana's unified-alerting webhook body to the contact point. A post that fails is retried at
the next evaluation (Grafana retries at its next group_interval). Firing alerts are re-sent every
repeat_interval. It refuses rule constructs it does not implement.

    python -m devstack.grafana_standin --influxdb-url http://127.0.0.1:8086 \
        --webhook-url http://127.0.0.1:5000/alert [--interval 1] [--window 3]
"""

import argparse
import dataclasses
import hashlib
import hmac
import json
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

from devstack.grafana_standin.evaluate import RuleEvaluator, fill_macros, notification
from devstack.grafana_standin.rules import UnsupportedRule, load_rules, parse_duration

log = logging.getLogger("grafana-standin")
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "grafana" / "provisioning" / "alerting"
_ENV_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def interpolate(value, environ):
    """Grafana's `$VAR` / `${VAR}` interpolation of provisioning values."""
    if not isinstance(value, str):
        return value
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), value)


def load_delivery(folder, environ):
    """(webhook settings, repeat interval in s) from the contact point and policy files."""
    settings, repeat = {}, 4 * 3600.0
    for file in sorted(Path(folder).glob("*.y*ml")):
        document = yaml.safe_load(file.read_text()) or {}
        for point in document.get("contactPoints") or []:
            for receiver in point.get("receivers") or []:
                if receiver.get("type") == "webhook" and not settings:
                    settings = {k: interpolate(v, environ)
                                for k, v in (receiver.get("settings") or {}).items()}
        for policy in document.get("policies") or []:
            if policy.get("repeat_interval"):
                repeat = parse_duration(policy["repeat_interval"])
    return settings, repeat


class WebhookPoster:
    """Posts a notification the way Grafana's webhook contact point does."""

    def __init__(self, url, username=None, password=None, hmac_secret=None,
                 timestamp_header=None, timeout=5.0):
        self.url, self.timeout = url, timeout
        self.auth = (username, password) if username else None
        self.hmac_secret, self.timestamp_header = hmac_secret, timestamp_header
        self.session = requests.Session()

    def post(self, body):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.hmac_secret:
            signed = data
            if self.timestamp_header:
                stamp = str(int(time.time()))
                headers[self.timestamp_header] = stamp
                signed = stamp.encode() + b":" + data
            headers["X-Grafana-Alerting-Signature"] = hmac.new(
                self.hmac_secret.encode(), signed, hashlib.sha256).hexdigest()
        try:
            answer = self.session.post(self.url, data=data, headers=headers, auth=self.auth,
                                       timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("webhook unreachable: %s", error)
            return False
        if not answer.ok:
            log.warning("webhook answered %s: %s", answer.status_code, answer.text[:200])
        return answer.ok


class StandIn:
    def __init__(self, rules, influx, poster, repeat_interval, interval=None, window=None,
                 clock=time.time):
        if window is not None:
            rules = [dataclasses.replace(
                r, query=dataclasses.replace(r.query, range_from=window, range_to=0))
                for r in rules]
        self.evaluators = [RuleEvaluator(rule) for rule in rules]
        self.influx, self.poster, self.clock = influx, poster, clock
        self.repeat_interval = repeat_interval
        self.interval = interval or min(rule.interval for rule in rules)
        self._unsent = {e.rule.uid: {} for e in self.evaluators}
        self._last_sent = {e.rule.uid: 0.0 for e in self.evaluators}

    def query(self, rule, now):
        try:
            result = self.influx.query(fill_macros(rule, now), epoch="ms")
        except (InfluxDBClientError, InfluxDBServerError, requests.RequestException) as error:
            return None, error
        series = []
        for (_, tags), points in result.items():
            values = [value for point in points for key, value in point.items() if key != "time"]
            series.append(({k: v for k, v in (tags or {}).items() if v != ""}, values))
        return series, None

    def evaluate_once(self):
        """One evaluation of every rule; returns the notifications that were delivered."""
        delivered = []
        for evaluator in self.evaluators:
            now = self.clock()
            series, error = self.query(evaluator.rule, now)
            changed = evaluator.evaluate(series, now, error)
            unsent = self._unsent[evaluator.rule.uid]
            for instance in changed:
                unsent[instance.fingerprint] = instance
            repeat_due = now - self._last_sent[evaluator.rule.uid] >= self.repeat_interval
            if not unsent and not (evaluator.firing() and repeat_due):
                continue
            alerts = {i.fingerprint: i for i in evaluator.firing()}
            alerts.update(unsent)
            body = notification(evaluator.rule, list(alerts.values()))
            if self.poster.post(body):
                unsent.clear()
                self._last_sent[evaluator.rule.uid] = now
                delivered.append(body)
                log.info("notified %s: %s", evaluator.rule.uid, body["message"])
        return delivered

    def run(self, stop):
        while not stop.is_set():
            started = time.monotonic()
            self.evaluate_once()
            stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


def build(args, environ):
    rules = load_rules(args.rules)
    if not rules:
        raise UnsupportedRule(f"no alert rules in {args.rules}")
    settings, repeat = load_delivery(args.rules, environ)
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
    return StandIn(rules, influx, poster, repeat, args.interval, args.window)


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default=str(DEFAULT_FOLDER),
                        help="provisioning folder or rule file (default: %(default)s)")
    parser.add_argument("--influxdb-url", default=environ.get("INFLUXDB_URL",
                                                              "http://localhost:8086"))
    parser.add_argument("--database", default=environ.get("INFLUXDB_DATABASE", "iot"))
    parser.add_argument("--influxdb-username", default=environ.get("INFLUXDB_USERNAME"))
    parser.add_argument("--influxdb-password", default=environ.get("INFLUXDB_PASSWORD"))
    parser.add_argument("--webhook-url", help="override the contact point's URL")
    parser.add_argument("--interval", type=float,
                        help="evaluation interval in s, overriding the rule group's (demo speed)")
    parser.add_argument("--window", type=float,
                        help="query window in s, overriding relativeTimeRange (demo speed)")
    parser.add_argument("--once", action="store_true", help="evaluate once and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        standin = build(args, environ)
    except UnsupportedRule as error:
        print(f"grafana-standin: {error}", file=sys.stderr)
        return 2
    log.info("development stand-in for Grafana alerting: %d rule(s), every %.1f s",
             len(standin.evaluators), standin.interval)
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
