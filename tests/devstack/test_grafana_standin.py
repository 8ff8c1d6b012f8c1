"""The development stand-in for Grafana alerting, on its own: rule loading, evaluation, delivery."""

import copy
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import influxdb
import pytest
import yaml

from devstack.grafana_standin.__main__ import (
    DEFAULT_FOLDER,
    StandIn,
    interpolate,
    load_contact_point,
    main,
    shrink_window,
)
from devstack.grafana_standin.dispatch import Policy, load_policy
from devstack.grafana_standin.evaluate import (
    ALERTING,
    NORMAL,
    PENDING,
    RuleEvaluator,
    fill_macros,
)
from devstack.grafana_standin.expressions import Series
from devstack.grafana_standin.notify import WebhookPoster, notification
from devstack.grafana_standin.rules import UnsupportedRule, load_rules, parse_duration
from devstack.wait import wait_until
from webhook.notification import labels_fingerprint

PROVISIONED = DEFAULT_FOLDER
RULE_FILE = PROVISIONED / "rules.yaml"
AT_ONCE = Policy(group_by=("alertname",), group_wait=0, group_interval=0.001,
                 repeat_interval=3600)


def provisioned_document():
    return yaml.safe_load(RULE_FILE.read_text())


def write_rule(tmp_path, mutate):
    document = copy.deepcopy(provisioned_document())
    mutate(document["groups"][0]["rules"][0])
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def rule(uid):
    return next(r for r in load_rules(PROVISIONED) if r.uid == uid)


def test_loads_every_provisioned_rule():
    rules = {r.uid: r for r in load_rules(PROVISIONED)}
    assert set(rules) >= {"pot-high", "loop-deviation", "output-saturated", "pot-anomaly",
                          "pv-anomaly", "readings-lost-in-transit", "loop-oscillating",
                          "loop-in-manual", "actuator-mismatch", "actuator-offline"}
    # Paused (off by default): loaded, evaluated only when named with --rule.
    assert {uid for uid, r in rules.items() if r.paused} == {"loop-oscillating", "loop-in-manual"}
    pot = rules["pot-high"]
    [threshold] = [e for e in pot.expressions if e.kind == "threshold"]
    assert (pot.title, threshold.evaluator, threshold.params) == ("Pot high", "gt", (75.0,))
    assert threshold.unload == ("lt", (70.0,))
    assert all(r.interval % 10 == 0 for r in rules.values())


def _set_step(ref_id, **model):
    def mutate(rule):
        step = next(s for s in rule["data"] if s["refId"] == ref_id)
        step["model"].update(model)
    return mutate


def _add_step(step):
    return lambda rule: rule["data"].append(step)


UNSUPPORTED = [
    ("resample expression", _set_step("B", type="resample"), "expression type 'resample'"),
    ("classic condition", _set_step("C", type="classic_conditions"), "'classic_conditions'"),
    ("unknown reducer", _set_step("B", reducer="median"), "reducer 'median'"),
    ("unknown reduce mode", _set_step("B", settings={"mode": "fancy"}), "reduce mode 'fancy'"),
    ("unknown evaluator", _set_step("C", conditions=[{"evaluator": {"type": "between",
                                                                     "params": [1]}}]),
     "evaluator 'between'"),
    ("bad recovery evaluator", _set_step("C", conditions=[{
        "evaluator": {"type": "gt", "params": [75]},
        "unloadEvaluator": {"type": "lt"}}]), "recovery threshold 'lt' needs 1"),
    ("two conditions", _set_step("C", conditions=[{"evaluator": {"type": "gt", "params": [1]}},
                                                   {"evaluator": {"type": "gt", "params": [2]}}]),
     "exactly one condition"),
    ("unknown macro", _set_step("A", query='SELECT "value" FROM "pot" WHERE $__timeFilter'),
     "macros"),
    ("not a raw query", _set_step("A", rawQuery=False), "raw InfluxQL"),
    ("unknown math function", _set_step("C", type="math", expression="median($B)"),
     "function 'median'"),
    ("math on an undefined step", _set_step("C", type="math", expression="$B + $Z"),
     "refId 'Z'"),
    ("a cycle", _set_step("B", type="math", expression="$C + 1"), "depends on itself"),
    ("unused step", _add_step({"refId": "Z", "datasourceUid": "__expr__",
                               "model": {"type": "math", "expression": "1"}}), "'Z'"),
    ("query as condition", lambda r: r.update(condition="A"), "must be an expression"),
    ("paused not a boolean", lambda r: r.update(isPaused="yes"), "isPaused"),
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


def test_time_filter_covers_the_query_window():
    query = fill_macros(rule("pot-high").query, now=1000.0)
    assert "time >= 990000ms and time <= 1000000ms" in query
    assert "$" not in query


def test_the_window_override_keeps_the_proportions_of_a_rules_windows():
    assert shrink_window(rule("pot-high"), 3).query.range_from == 3
    anomaly = shrink_window(rule("pot-anomaly"), 3)
    assert [q.range_from for q in anomaly.queries] == [3, 180, 180]


def pot(**devices):
    return {"A": [Series({"device": d}, [(i, float(v)) for i, v in enumerate(values)])
                  for d, values in devices.items()]}


def test_instances_fire_and_resolve_per_device():
    evaluator = RuleEvaluator(rule("pot-high"))
    changed = evaluator.evaluate(pot(a=[80, 90], b=[10]), now=10)
    assert [i.labels["device"] for i in changed] == ["a"]
    assert changed[0].labels["alertname"] == "Pot high"
    assert changed[0].values == {"B": 85.0, "C": 1.0}
    assert evaluator.evaluate(pot(a=[80], b=[10]), now=20) == []
    changed = evaluator.evaluate(pot(a=[10], b=[10]), now=30)
    assert [(i.labels["device"], i.state) for i in changed] == [("a", NORMAL)]


def test_the_recovery_threshold_holds_a_firing_device_until_below_70():
    evaluator = RuleEvaluator(rule("pot-high"))
    assert evaluator.evaluate(pot(a=[72]), now=0) == [], "72 is below the firing threshold"
    assert [i.state for i in evaluator.evaluate(pot(a=[80]), now=10)] == [ALERTING]
    assert evaluator.evaluate(pot(a=[72]), now=20) == [], "72 is above the recovery threshold"
    assert [i.state for i in evaluator.evaluate(pot(a=[69]), now=30)] == [NORMAL]
    assert evaluator.evaluate(pot(a=[72]), now=40) == []


def test_pending_for_delays_firing(tmp_path):
    [slow] = load_rules(write_rule(tmp_path, lambda r: r.update({"for": "15s"})))
    evaluator = RuleEvaluator(slow)
    assert evaluator.evaluate(pot(a=[90]), now=0) == []
    assert [i.state for i in evaluator.instances.values()] == [PENDING]
    assert evaluator.evaluate(pot(a=[90]), now=10) == []
    assert [i.state for i in evaluator.evaluate(pot(a=[90]), now=20)] == [ALERTING]


def test_a_silent_device_resolves_after_two_evaluations():
    evaluator = RuleEvaluator(rule("pot-high"))
    evaluator.evaluate(pot(a=[90], b=[10]), now=0)
    assert evaluator.evaluate(pot(b=[10]), now=10) == []
    changed = evaluator.evaluate(pot(b=[10]), now=20)
    assert [(i.labels.get("device"), i.state) for i in changed] == [("a", NORMAL)]


def test_no_data_ok_resolves_every_instance_at_once():
    pot_high = rule("pot-high")
    assert pot_high.no_data_state == "OK"
    evaluator = RuleEvaluator(pot_high)
    evaluator.evaluate(pot(a=[90], b=[95]), now=0)
    changed = evaluator.evaluate({"A": []}, now=10)
    assert sorted((i.labels.get("device"), i.state) for i in changed) == [
        ("a", NORMAL), ("b", NORMAL)]
    assert evaluator.firing() == []


def test_query_errors_keep_the_last_state():
    pot_high = rule("pot-high")
    assert pot_high.exec_err_state == "KeepLast"
    evaluator = RuleEvaluator(pot_high)
    evaluator.evaluate(pot(a=[90]), now=0)
    for now in (10, 20, 30):
        assert evaluator.evaluate(None, now=now, error=OSError("down")) == []
    assert [i.labels["device"] for i in evaluator.firing()] == ["a"]


def test_after_a_kept_error_the_recovery_threshold_is_lost_for_one_evaluation():
    """Grafana 12.2 loads only Alerting/Pending states without a StateReason; KeepLast marks the
    kept instance "Error, KeepLast", so the next evaluation uses the firing threshold: a pot
    resting at 72 (between 70 and 75) resolves, and fires again only above 75."""
    evaluator = RuleEvaluator(rule("pot-high"))
    evaluator.evaluate(pot(a=[80]), now=0)
    assert evaluator.evaluate(pot(a=[72]), now=10) == []  # the recovery threshold holds it
    assert evaluator.evaluate(None, now=20, error=OSError("InfluxDB down")) == []
    assert [i.labels["device"] for i in evaluator.firing()] == ["a"]  # KeepLast
    changed = evaluator.evaluate(pot(a=[72]), now=30)
    assert [(i.labels["device"], i.state) for i in changed] == [("a", NORMAL)]
    assert evaluator.evaluate(pot(a=[72]), now=40) == []


def test_series_with_the_same_labels_are_an_execution_error(tmp_path):
    [strict] = load_rules(write_rule(tmp_path, lambda r: r.update(execErrState="Error")))
    twice = {"A": pot(a=[90])["A"] * 2}
    [instance] = RuleEvaluator(strict).evaluate(twice, now=0)
    assert instance.labels["alertname"] == "DatasourceError"


def test_a_condition_on_unreduced_series_is_an_execution_error(tmp_path):
    def threshold_on_series(raw):
        _set_step("C", expression="A")(raw)
        raw["data"] = [s for s in raw["data"] if s["refId"] != "B"]
        raw["execErrState"] = "Error"
    [unreduced] = load_rules(write_rule(tmp_path, threshold_on_series))
    [instance] = RuleEvaluator(unreduced).evaluate(pot(a=[90]), now=0)
    assert instance.labels["alertname"] == "DatasourceError"


def test_no_data_state_nodata_raises_datasource_no_data(tmp_path):
    [nodata] = load_rules(write_rule(tmp_path, lambda r: r.update(noDataState="NoData")))
    [instance] = RuleEvaluator(nodata).evaluate({"A": []}, now=0)
    assert instance.labels["alertname"] == "DatasourceNoData"
    assert instance.labels["rulename"] == "Pot high"


def test_fingerprints_are_grafanas_the_webhook_computes_the_same():
    evaluator = RuleEvaluator(rule("pot-high"))
    [instance] = evaluator.evaluate(pot(a=[90]), now=0)
    assert instance.fingerprint == labels_fingerprint(instance.labels)


def test_notification_has_grafanas_documented_fields():
    pot_high = rule("pot-high")
    evaluator = RuleEvaluator(pot_high)
    evaluator.evaluate(pot(a=[90], b=[80]), now=0)
    evaluator.evaluate(pot(a=[90], b=[10]), now=10)
    instances = [(pot_high, i) for i in evaluator.instances.values()]
    body = notification({"alertname": "Pot high"}, instances)
    documented = {"receiver", "status", "orgId", "alerts", "groupLabels", "commonLabels",
                  "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts",
                  "title", "state", "message"}
    assert documented <= body.keys()
    assert body["groupLabels"] == {"alertname": "Pot high"}
    assert {a["labels"]["device"]: a["status"] for a in body["alerts"]} == {
        "a": "firing", "b": "resolved"}
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert len({a["fingerprint"] for a in body["alerts"]}) == 2


def test_contact_point_credentials_are_interpolated_from_the_environment():
    environ = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "s3cret"}
    settings = load_contact_point(PROVISIONED, environ)
    assert settings["url"].endswith("/alert")
    assert (settings["username"], settings["password"]) == ("grafana", "s3cret")
    assert interpolate("${A}-$B", {"A": "x", "B": "y"}) == "x-y"


def test_the_command_refuses_an_unknown_rule_with_exit_2(capsys):
    assert main(["--webhook-url", "http://127.0.0.1:9/alert", "--rule", "nope"],
                environ={}) == 2
    assert "no such rule" in capsys.readouterr().err


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
    poster = WebhookPoster(receiver.url, "grafana", "pw", hmac_secret="k",
                           timestamp_header="X-Stamp")
    standin = StandIn([rule("pot-high")], client, poster, AT_ONCE)
    [body] = standin.evaluate_once()
    assert [a["labels"]["device"] for a in body["alerts"]] == ["hot"]
    headers, raw = wait_until(lambda: receiver.requests)[0]
    assert headers["Authorization"].startswith("Basic ")
    signed = headers["X-Stamp"].encode() + b":" + raw
    assert headers["X-Grafana-Alerting-Signature"] == hmac.new(
        b"k", signed, hashlib.sha256).hexdigest()
    assert json.loads(raw) == body
    assert standin.evaluate_once() == []


def test_a_failed_post_is_sent_again_at_the_next_flush(influxdb, receiver):
    client = influxdb_client(influxdb)
    client.write_points([f"pot,device=a value=99 {int((time.time() - 1) * 1e9)}"],
                        protocol="line")
    receiver.status = 503
    standin = StandIn([rule("pot-high")], client, WebhookPoster(receiver.url), AT_ONCE)
    assert standin.evaluate_once() == []
    receiver.status = 200
    [body] = standin.evaluate_once()
    assert body["alerts"][0]["status"] == "firing"


def influxdb_client(server):
    client = influxdb.InfluxDBClient(server.host, server.port, database="iot")
    client.create_database("iot")
    return client


def test_notifications_follow_the_provisioned_group_timings(influxdb, receiver):
    """As deployed: group_wait before the first notification of a group, and the resolve at the
    group's next flush, group_interval later (the clock is the test's)."""
    client = influxdb_client(influxdb)
    start = float(int(time.time()))
    clock = [start]
    client.write_points([f"pot,device=a value=90 {int((start - 2) * 1e9)}"], protocol="line")
    policy = load_policy(PROVISIONED)
    standin = StandIn([rule("pot-high")], client, WebhookPoster(receiver.url), policy,
                      clock=lambda: clock[0])
    assert standin.tick() == [], "the new group waits group_wait"
    clock[0] = start + policy.group_wait
    [firing] = standin.tick()
    assert firing["status"] == "firing"
    client.write_points([f"pot,device=a value=10 {int((start + 8) * 1e9)}"], protocol="line")
    clock[0] = start + rule("pot-high").interval
    assert standin.tick() == [], "resolved at this evaluation, sent at the group's next flush"
    clock[0] = start + policy.group_wait + policy.group_interval
    [resolved] = standin.tick()
    assert resolved["status"] == "resolved"
    # Empty, the group waits for the dispatcher's maintenance (every 30 s) to remove it.
    assert [g.alerts for g in standin.dispatcher.groups.values()] == [{}]
