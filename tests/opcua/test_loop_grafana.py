"""The "Loop health" dashboards and the paused loop rules (grafana/provisioning/alerting/
loops.yaml): their shape, and the rules evaluated by the Grafana stand-in on a real InfluxDB.
(tests/deploy/test_grafana.py runs every dashboard and rule query on a real InfluxDB too.)"""

import json
import time

import yaml

from devstack.grafana_standin.__main__ import DEFAULT_FOLDER, StandIn, build, main
from devstack.grafana_standin.dispatch import Policy
from devstack.grafana_standin.evaluate import ALERTING, RuleEvaluator
from devstack.grafana_standin.rules import load_rules
from devstack.paths import ROOT
from opcua_bridge.loop_health import FIGURES, MARK
from tests.devstack import test_provisioned_rules

client = test_provisioned_rules.client   # the fixture: a real InfluxDB with database iot
DASHBOARDS = ROOT / "grafana" / "dashboards"
OVERVIEW = json.loads((DASHBOARDS / "loop-health.json").read_text())
DETAIL = json.loads((DASHBOARDS / "loop-detail.json").read_text())
RULES_FILE = yaml.safe_load((DEFAULT_FOLDER / "loops.yaml").read_text())
RULES = {rule.uid: rule for rule in load_rules(DEFAULT_FOLDER / "loops.yaml")}


def queries(dashboard):
    return [t["query"] for p in dashboard["panels"] for t in p.get("targets", [])]


def threshold(uid):
    [condition] = [e for e in RULES[uid].expressions if e.kind == "threshold"]
    return condition.params[0], condition.unload


def test_both_rules_are_provisioned_paused():
    assert {r["uid"]: r["isPaused"] for r in RULES_FILE["groups"][0]["rules"]} == \
        {"loop-oscillating": True, "loop-in-manual": True}
    assert threshold("loop-oscillating") == (9.5, ("lt", (5.0,)))
    assert threshold("loop-in-manual") == (50.0, ("lt", (10.0,)))


def test_the_ranking_puts_the_worst_iae_on_top_and_links_the_drill_down():
    table = OVERVIEW["panels"][0]
    assert table["type"] == "table" and OVERVIEW["time"]["from"] == "now-7d"
    sort = next(t for t in table["transformations"] if t["id"] == "sortBy")
    assert sort["options"]["sort"] == [{"field": "IAE", "desc": True}]
    assert any('AS "IAE" FROM "iae"' in t["query"] and t["query"].endswith('GROUP BY "device"')
               for t in table["targets"])
    links = [link for override in table["fieldConfig"]["overrides"]
             for prop in override["properties"] if prop["id"] == "links" for link in prop["value"]]
    assert links and links[0]["url"].startswith(f"/d/{DETAIL['uid']}?var-loop=")
    shown = " ".join(queries(OVERVIEW) + queries(DETAIL))
    assert all(f'FROM "{figure}"' in shown for figure in FIGURES)


def test_the_drill_down_shows_one_loop_with_oscillation_marks():
    [loop] = DETAIL["templating"]["list"]
    assert loop["name"] == "loop" and not loop["multi"]
    assert all('"device" =~ /^$loop$/' in q for q in queries(DETAIL))
    [marks] = DETAIL["annotations"]["list"]
    assert f'FROM "{MARK}"' in marks["target"]["query"]
    titles = " ".join(p["title"] for p in DETAIL["panels"])
    for needed in ("PV, SP and OUT", "Error", "IAE", "Oscillation"):
        assert needed in titles


def test_the_dashboards_draw_the_rules_thresholds():
    def steps(dashboard, title):
        panel = next(p for p in dashboard["panels"] if title in p["title"])
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]][1:]

    fire, _ = threshold("loop-oscillating")
    assert steps(OVERVIEW, "Oscillation count") == [round(fire)]
    assert steps(DETAIL, "Oscillation count") == [round(fire)]
    assert steps(OVERVIEW, "In manual") == [threshold("loop-in-manual")[0]]


def test_the_stand_in_evaluates_a_paused_rule_only_when_named():
    def uids(*argv):
        import argparse

        args = argparse.Namespace(rules=str(DEFAULT_FOLDER), rule=list(argv) or None,
                                  window=None, group_wait=None, group_interval=None,
                                  webhook_url="http://127.0.0.1:9/alert",
                                  influxdb_url="http://127.0.0.1:9", database="iot",
                                  influxdb_username=None, influxdb_password=None, interval=None)
        return {e.rule.uid for e in build(args, {}).evaluators}

    assert "loop-oscillating" not in uids() and "pot-high" in uids()
    assert uids("loop-oscillating") == {"loop-oscillating"}
    assert main(["--rules", str(DEFAULT_FOLDER), "--rule", "nope", "--once"], {}) == 2


def firing(client, uid, now):
    standin = StandIn([RULES[uid]], client, poster=None, policy=Policy())
    evaluator = RuleEvaluator(RULES[uid])
    results, error = standin.query(RULES[uid], now)
    assert error is None, error
    evaluator.evaluate(results, now)
    return {i.labels["device"] for i in evaluator.instances.values() if i.state == ALERTING}


def test_the_rules_fire_per_loop_on_the_bridges_figures(client):
    now = int(time.time()) - 5
    points = []
    for loop, count, manual in (("oscillating", 14, 0), ("tuned", 2, 0), ("manual", 0, 100),
                                ("edge", 9, 50)):
        for i in range(6):   # every 10 s for a minute, as the bridge publishes them
            t = (now - 10 * i) * 10**9
            points += [f"osc_count,device={loop} value={count} {t}",
                       f"manual_pct,device={loop} value={manual} {t}"]
    client.write_points(points, protocol="line")
    assert firing(client, "loop-oscillating", now) == {"oscillating"}
    assert firing(client, "loop-in-manual", now) == {"manual"}
