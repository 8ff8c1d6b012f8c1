"""The development stand-in for Grafana alerting, on its own: rule loading, evaluation, delivery."""

import copy
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import influxdb
import pytest
import yaml

from devstack.grafana_standin.__main__ import StandIn, WebhookPoster, interpolate, load_delivery
from devstack.grafana_standin.evaluate import (
    ALERTING,
    NORMAL,
    PENDING,
    RuleEvaluator,
    fill_macros,
    notification,
    reduce_values,
    threshold_met,
)
from devstack.grafana_standin.rules import UnsupportedRule, load_rules, parse_duration
from devstack.wait import wait_until

PROVISIONED = Path(__file__).resolve().parents[2] / "grafana" / "provisioning" / "alerting"
RULE_FILE = PROVISIONED / "rules.yaml"


def provisioned_document():
    return yaml.safe_load(RULE_FILE.read_text())


def write_rule(tmp_path, mutate):
    document = copy.deepcopy(provisioned_document())
    mutate(document["groups"][0]["rules"][0])
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_loads_the_provisioned_rule():
    [rule] = load_rules(PROVISIONED)
    assert (rule.uid, rule.title, rule.reducer, rule.evaluator) == (
        "pot-high", "Pot high", "mean", "gt")
    assert rule.params == (75.0,)
    assert rule.interval % 10 == 0


def _set_step(ref_id, **model):
    def mutate(rule):
        step = next(s for s in rule["data"] if s["refId"] == ref_id)
        step["model"].update(model)
    return mutate


UNSUPPORTED = [
    ("math expression", _set_step("B", type="math"), "must be a reduce expression"),
    ("classic condition", _set_step("C", type="classic_conditions"), "threshold expression"),
    ("unknown reducer", _set_step("B", reducer="median"), "reducer 'median'"),
    ("unknown evaluator", _set_step("C", conditions=[{"evaluator": {"type": "eq",
                                                                     "params": [1]}}]),
     "evaluator 'eq'"),
    ("unknown macro", _set_step("A", query='SELECT "value" FROM "pot" WHERE $__timeFilter'),
     "macros"),
    ("not a raw query", _set_step("A", rawQuery=False), "raw InfluxQL"),
    ("recovery threshold", _set_step("C", conditions=[{
        "evaluator": {"type": "gt", "params": [75]},
        "unloadEvaluator": {"type": "lt", "params": [70]}}]), "unloadEvaluator"),
    ("paused", lambda r: r.update(isPaused=True), "paused"),
    ("keep firing for", lambda r: r.update(keepFiringFor="1m"), "keepFiringFor"),
    ("simplified routing", lambda r: r.update(notification_settings={"receiver": "x"}),
     "notification_settings"),
    ("bad no-data state", lambda r: r.update(noDataState="Maybe"), "noDataState"),
    ("undefined condition", lambda r: r.update(condition="Z"), "refId 'Z'"),
    ("bad duration", lambda r: r.update({"for": "soon"}), "invalid duration"),
]


@pytest.mark.parametrize("mutate,expected", [c[1:] for c in UNSUPPORTED],
                         ids=[c[0] for c in UNSUPPORTED])
def test_refuses_what_it_does_not_implement(tmp_path, mutate, expected):
    with pytest.raises(UnsupportedRule, match=expected) as raised:
        load_rules(write_rule(tmp_path, mutate))
    assert "pot-high" in str(raised.value)


@pytest.mark.parametrize("text,seconds", [("10s", 10), ("1m30s", 90), ("500ms", 0.5), (0, 0),
                                          ("2h", 7200)], ids=str)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("values,reducer,expected", [
    ([1, 2, 3], "mean", 2), ([1, None, 3], "mean", 2), ([], "mean", None),
    ([5, 1], "last", 1), ([5, 1], "max", 5), ([], "count", 0), ([float("nan"), 4], "min", 4),
], ids=["mean", "mean skips null", "empty", "last", "max", "count empty", "nan dropped"])
def test_reduce(values, reducer, expected):
    assert reduce_values(values, reducer) == expected


@pytest.mark.parametrize("value,evaluator,params,expected", [
    (76, "gt", (75,), True), (75, "gt", (75,), False), (None, "gt", (75,), False),
    (1, "lt", (2,), True), (5, "within_range", (1, 10), True),
    (5, "outside_range", (1, 10), False),
], ids=["above", "equal is not above", "no value", "below", "within", "not outside"])
def test_threshold(value, evaluator, params, expected):
    assert threshold_met(value, evaluator, params) is expected


def test_time_filter_covers_the_rule_window():
    [rule] = load_rules(PROVISIONED)
    query = fill_macros(rule, now=1000.0)
    assert "time >= 990000ms and time <= 1000000ms" in query
    assert "$" not in query


def series(**devices):
    return [({"device": d}, values) for d, values in devices.items()]


def test_instances_fire_and_resolve_per_device():
    [rule] = load_rules(PROVISIONED)
    evaluator = RuleEvaluator(rule)
    changed = evaluator.evaluate(series(a=[80, 90], b=[10]), now=10)
    assert [i.labels["device"] for i in changed] == ["a"]
    assert changed[0].labels["alertname"] == "Pot high"
    assert evaluator.evaluate(series(a=[80], b=[10]), now=20) == []
    changed = evaluator.evaluate(series(a=[10], b=[10]), now=30)
    assert [(i.labels["device"], i.state) for i in changed] == [("a", NORMAL)]


def test_pending_for_delays_firing():
    [rule] = load_rules(PROVISIONED)
    rule = type(rule)(**{**rule.__dict__, "pending_for": 15})
    evaluator = RuleEvaluator(rule)
    assert evaluator.evaluate(series(a=[90]), now=0) == []
    assert evaluator.instances and list(evaluator.instances.values())[0].state == PENDING
    assert evaluator.evaluate(series(a=[90]), now=10) == []
    assert [i.state for i in evaluator.evaluate(series(a=[90]), now=20)] == [ALERTING]


def test_a_silent_device_resolves_after_two_evaluations():
    [rule] = load_rules(PROVISIONED)
    evaluator = RuleEvaluator(rule)
    evaluator.evaluate(series(a=[90], b=[10]), now=0)
    assert evaluator.evaluate(series(b=[10]), now=10) == []
    changed = evaluator.evaluate(series(b=[10]), now=20)
    assert [(i.labels.get("device"), i.state) for i in changed] == [("a", NORMAL)]


def test_no_data_ok_resolves_every_instance_at_once():
    [rule] = load_rules(PROVISIONED)
    assert rule.no_data_state == "OK"
    evaluator = RuleEvaluator(rule)
    evaluator.evaluate(series(a=[90], b=[95]), now=0)
    changed = evaluator.evaluate([], now=10)
    assert sorted((i.labels.get("device"), i.state) for i in changed) == [
        ("a", NORMAL), ("b", NORMAL)]
    assert evaluator.firing() == []


def test_query_errors_keep_the_last_state():
    [rule] = load_rules(PROVISIONED)
    assert rule.exec_err_state == "KeepLast"
    evaluator = RuleEvaluator(rule)
    evaluator.evaluate(series(a=[90]), now=0)
    for now in (10, 20, 30):
        assert evaluator.evaluate(None, now=now, error=OSError("down")) == []
    assert [i.labels["device"] for i in evaluator.firing()] == ["a"]


def test_no_data_state_nodata_raises_datasource_no_data(tmp_path):
    [rule] = load_rules(write_rule(tmp_path, lambda r: r.update(noDataState="NoData")))
    [instance] = RuleEvaluator(rule).evaluate([], now=0)
    assert instance.labels["alertname"] == "DatasourceNoData"
    assert instance.labels["rulename"] == "Pot high"


def test_notification_has_grafanas_documented_fields():
    [rule] = load_rules(PROVISIONED)
    evaluator = RuleEvaluator(rule)
    evaluator.evaluate(series(a=[90], b=[80]), now=0)
    evaluator.evaluate(series(a=[90], b=[10]), now=10)
    body = notification(rule, list(evaluator.instances.values()))
    documented = {"receiver", "status", "orgId", "alerts", "groupLabels", "commonLabels",
                  "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts",
                  "title", "state", "message"}
    assert documented <= body.keys()
    assert {a["labels"]["device"]: a["status"] for a in body["alerts"]} == {
        "a": "firing", "b": "resolved"}
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert len({a["fingerprint"] for a in body["alerts"]}) == 2


def test_contact_point_credentials_are_interpolated_from_the_environment():
    environ = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "s3cret"}
    settings, repeat = load_delivery(PROVISIONED, environ)
    assert settings["url"].endswith("/alert")
    assert (settings["username"], settings["password"]) == ("grafana", "s3cret")
    assert repeat >= 60
    assert interpolate("${A}-$B", {"A": "x", "B": "y"}) == "x-y"


class Receiver:
    """A real HTTP server on loopback that records what the stand-in posts."""

    def __init__(self, status=200):
        self.requests, self.status = [], status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alert"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_evaluates_on_real_influxdb_and_posts_signed_notifications(influxdb, receiver):
    client = influxdb_client(influxdb)
    now = time.time()
    client.write_points([f"pot,device=hot value=90 {int((now - 2) * 1e9)}",
                         f"pot,device=cold value=20 {int((now - 2) * 1e9)}"], protocol="line")
    poster = WebhookPoster(receiver.url, "grafana", "pw", hmac_secret="k")
    standin = StandIn(load_rules(PROVISIONED), client, poster, repeat_interval=3600)
    [body] = standin.evaluate_once()
    assert [a["labels"]["device"] for a in body["alerts"]] == ["hot"]
    headers, raw = wait_until(lambda: receiver.requests)[0]
    assert headers["Authorization"].startswith("Basic ")
    assert headers["X-Grafana-Alerting-Signature"] == hmac.new(
        b"k", raw, hashlib.sha256).hexdigest()
    assert json.loads(raw) == body
    assert standin.evaluate_once() == []


def test_a_failed_post_is_retried_at_the_next_evaluation(influxdb, receiver):
    client = influxdb_client(influxdb)
    client.write_points([f"pot,device=a value=99 {int((time.time() - 1) * 1e9)}"],
                        protocol="line")
    receiver.status = 503
    standin = StandIn(load_rules(PROVISIONED), client, WebhookPoster(receiver.url),
                      repeat_interval=3600)
    assert standin.evaluate_once() == []
    receiver.status = 200
    [body] = standin.evaluate_once()
    assert body["alerts"][0]["status"] == "firing"


def influxdb_client(server):
    client = influxdb.InfluxDBClient(server.host, server.port, database="iot")
    client.create_database("iot")
    return client
