"""Grafana provisioning as code, checked without Grafana: the files parse, every uid reference
resolves, the intervals fit together, the credentials are the webhook's own variables, and the
alert rule's and the dashboard's InfluxQL run on the real InfluxDB and give what the rule
expects (one series per device)."""

import ast
import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from devstack.paths import ROOT

PROVISIONING = ROOT / "grafana" / "provisioning"
DASHBOARDS = ROOT / "grafana" / "dashboards"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
GRAFANA_ENV = COMPOSE["services"]["grafana"]["environment"]
INFLUX_ENV = COMPOSE["services"]["influxdb"]["environment"]
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def load(relative):
    return yaml.safe_load((PROVISIONING / relative).read_text())


def seconds(duration):
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(int(n) * UNIT_SECONDS[u] for n, u in parts)


DATASOURCE = load("datasources/influxdb.yaml")["datasources"][0]
GROUP = load("alerting/rules.yaml")["groups"][0]
RULE = GROUP["rules"][0]
STEPS = {step["refId"]: step for step in RULE["data"]}
CONTACT = load("alerting/contact-points.yaml")["contactPoints"][0]
RECEIVER = CONTACT["receivers"][0]
POLICY = load("alerting/policies.yaml")["policies"][0]
PROVIDER = load("dashboards/alertloop.yaml")["providers"][0]
DASHBOARD = json.loads((DASHBOARDS / "alertloop.json").read_text())
PID_DASHBOARD = json.loads((DASHBOARDS / "pid-loops.json").read_text())
DASHBOARD_FILES = {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}
RULE_FILES = {p.name: yaml.safe_load(p.read_text())
              for p in sorted((PROVISIONING / "alerting").glob("*.yaml"))}
ALL_RULES = {rule["uid"]: (name, group, rule) for name, document in RULE_FILES.items()
             for group in document.get("groups") or [] for rule in group["rules"]}
EXPRESSION_SOURCE = {"type": "__expr__", "uid": "__expr__"}
THRESHOLD = STEPS[RULE["condition"]]["model"]["conditions"][0]["evaluator"]["params"][0]


def walk(node):
    """Every dict inside a JSON/YAML tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def env_references(node):
    """Every `$NAME` / `${NAME}` in string values (not `$$`, Grafana's escape) that Grafana's
    provisioning interpolates. A rule's query models and annotations are taken raw (Grafana's
    provisioning/alerting/rules_types.go reads `Model.Raw` and `Annotations.Raw`), so `$A` in a
    math expression is a reference to step A, not to the environment."""
    names = set()
    for found in walk(node):
        for key, value in found.items():
            if isinstance(value, str) and key not in RAW_KEYS:
                names |= set(re.findall(r"(?<!\$)\$\{?([A-Z][A-Z0-9_]*)\}?", value))
    return names


RAW_KEYS = {"expression", "query", "summary", "description"}


# ---- the files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix()
                                        for p in PROVISIONING.rglob("*.yaml")))
def test_provisioning_file_parses_as_version_1(path):
    content = yaml.safe_load((ROOT / path).read_text())
    assert content["apiVersion"] == 1


def test_no_yml_or_json_strays_in_provisioning():
    assert {p.suffix for p in PROVISIONING.rglob("*") if p.is_file()} == {".yaml"}


def test_the_dashboard_parses_with_a_stable_uid_and_a_device_variable():
    assert DASHBOARD["uid"] == "alertloop-overview"
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["device"]["type"] == "query"
    assert variables["device"]["multi"] and variables["device"]["includeAll"]
    titles = " ".join(panel["title"].lower() for panel in DASHBOARD["panels"])
    for needed in ("pot", "alert state", "online/offline", "listener_stats", "z-score"):
        assert needed in titles


def test_the_pid_dashboard_repeats_one_row_per_selected_loop():
    assert PID_DASHBOARD["uid"] == "alertloop-pid-loops" and PID_DASHBOARD["title"] == "PID loops"
    [loop] = PID_DASHBOARD["templating"]["list"]
    assert loop["name"] == "loop" and loop["multi"] and loop["includeAll"]
    assert loop["query"] == 'SHOW TAG VALUES FROM "pv" WITH KEY = "device"'
    row, *panels = PID_DASHBOARD["panels"]
    assert row["type"] == "row" and row["repeat"] == "loop"
    titles = " ".join(panel["title"].lower() for panel in panels)
    for needed in ("pv and sp", "out", "error sp - pv", "current values"):
        assert needed in titles
    for panel in panels:
        for target in panel["targets"]:
            if "query" in target:
                assert '"device" =~ /^$loop$/' in target["query"], panel["title"]


def test_dashboard_uids_are_unique():
    uids = [d["uid"] for d in DASHBOARD_FILES.values()]
    assert len(set(uids)) == len(uids)


# ---- uid references -----------------------------------------------------------------------------

def test_the_rule_queries_the_provisioned_data_source():
    assert DATASOURCE["uid"] == "influxdb-iot"
    assert STEPS["A"]["datasourceUid"] == DATASOURCE["uid"]
    assert {STEPS[ref]["datasourceUid"] for ref in STEPS if ref != "A"} == {"__expr__"}


def test_the_rule_is_a_query_reduce_threshold_chain():
    assert RULE["uid"] == "pot-high" and RULE["title"] == "Pot high"
    assert list(STEPS) == ["A", "B", "C"] and RULE["condition"] == "C"
    assert (STEPS["B"]["model"]["type"], STEPS["B"]["model"]["reducer"],
            STEPS["B"]["model"]["expression"]) == ("reduce", "mean", "A")
    assert (STEPS["C"]["model"]["type"], STEPS["C"]["model"]["expression"]) == ("threshold", "B")
    assert STEPS["C"]["model"]["conditions"][0]["evaluator"]["type"] == "gt"
    assert THRESHOLD == 75
    query = STEPS["A"]["model"]["query"]
    assert STEPS["A"]["model"]["rawQuery"] is True
    assert "$timeFilter" in query and re.search(r'GROUP BY .*"device"', query)


def test_the_rule_title_gives_the_alert_topic():
    assert re.sub(r"[^a-z0-9]+", "-", RULE["title"].lower()).strip("-") == RULE["uid"]


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_every_dashboard_data_source_is_the_provisioned_one(name):
    references = [node["datasource"] for node in walk(DASHBOARD_FILES[name])
                  if "datasource" in node]
    assert references, "the dashboard names no data source"
    assert all(ref in ({"type": "influxdb", "uid": DATASOURCE["uid"]}, EXPRESSION_SOURCE)
               for ref in references)


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_every_dashboard_expression_reads_queries_of_its_panel(name):
    from devstack.grafana_standin.expressions import parse_math, variables

    for panel in DASHBOARD_FILES[name]["panels"]:
        refs = {t["refId"] for t in panel.get("targets", [])}
        for target in panel.get("targets", []):
            if target["datasource"] == EXPRESSION_SOURCE:
                assert target["type"] == "math"
                assert variables(parse_math(target["expression"])) <= refs - {target["refId"]}


def test_the_dashboards_draw_the_rules_limits():
    """The z-score floor and threshold, the deviation band and the saturation limits are each
    written in a rule and drawn on a dashboard: they must agree."""
    _, _, anomaly = ALL_RULES["pot-anomaly"]
    steps = {step["refId"]: step["model"] for step in anomaly["data"]}
    floor = re.search(r"\+ ([0-9.]+)\)$", steps["G"]["expression"]).group(1)
    z_panel = next(p for p in DASHBOARD["panels"] if "z-score" in p["title"])
    [z] = [t for t in z_panel["targets"] if t["datasource"] == EXPRESSION_SOURCE]
    assert z["expression"].endswith(f"+ {floor})")
    limits = steps["H"]["conditions"][0]["evaluator"]["params"]
    assert _threshold_steps(z_panel) == limits

    _, _, deviation = ALL_RULES["loop-deviation"]
    band = next(s["model"] for s in deviation["data"] if s["refId"] == deviation["condition"])
    band = band["conditions"][0]["evaluator"]["params"][0]
    error_panel = next(p for p in PID_DASHBOARD["panels"] if p["title"].startswith("Error"))
    assert _threshold_steps(error_panel) == [-band, band]

    _, _, saturated = ALL_RULES["output-saturated"]
    limits = next(s["model"] for s in saturated["data"] if s["refId"] == saturated["condition"])
    out_panel = next(p for p in PID_DASHBOARD["panels"] if p["title"].startswith("OUT"))
    assert _threshold_steps(out_panel) == limits["conditions"][0]["evaluator"]["params"]


def _threshold_steps(panel):
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]][1:]


def test_the_dashboard_draws_the_rule_threshold():
    pot = next(p for p in DASHBOARD["panels"]
               if any('mean("value") FROM "pot"' in t.get("query", "")
                      for t in p.get("targets", [])))
    steps = pot["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [step["value"] for step in steps][1:] == [THRESHOLD]


def test_the_policy_routes_to_the_contact_point():
    assert POLICY["receiver"] == CONTACT["name"]


def test_dashboards_and_rules_share_the_folder():
    # Rule files name their folder by title only and are provisioned first, so the folder gets a
    # random uid: a folderUid in the dashboard provider would create a second folder of the same
    # title, and an alert list filtered by folder uid would stay empty (grafana/grafana#125079).
    alert_list = next(p for p in DASHBOARD["panels"] if p["type"] == "alertlist")
    assert "folder" not in alert_list["options"]
    assert "folderUid" not in PROVIDER
    assert PROVIDER["folder"] == GROUP["folder"]


def test_the_files_are_mounted_where_grafana_reads_them():
    volumes = COMPOSE["services"]["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert f"./grafana/dashboards:{PROVIDER['options']['path']}:ro" in volumes
    assert GRAFANA_ENV["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].startswith(
        PROVIDER["options"]["path"] + "/")


def test_the_urls_name_compose_services():
    datasource = urllib.parse.urlsplit(DATASOURCE["url"])
    webhook = urllib.parse.urlsplit(RECEIVER["settings"]["url"])
    assert datasource.hostname == "influxdb" and "influxdb" in COMPOSE["services"]
    assert webhook.hostname == "webhook" and webhook.path == "/alert"
    assert str(webhook.port) == COMPOSE["services"]["webhook"]["environment"]["WEBHOOK_PORT"]


# ---- intervals ----------------------------------------------------------------------------------

def test_the_rule_intervals():
    interval = seconds(GROUP["interval"])
    assert interval % 10 == 0
    window = STEPS["A"]["relativeTimeRange"]
    assert (window["from"], window["to"]) == (interval, 0), "each reading counted exactly once"
    assert seconds(RULE["for"]) % interval == 0
    assert RULE["noDataState"] in ("OK", "NoData", "Alerting", "KeepLast")
    assert RULE["execErrState"] in ("OK", "Error", "Alerting", "KeepLast")


def test_the_policy_timings_fit_a_fast_loop():
    interval = seconds(GROUP["interval"])
    wait, group, repeat = (seconds(POLICY[key]) for key in
                           ("group_wait", "group_interval", "repeat_interval"))
    assert wait < interval, "the first notification should not wait for another evaluation"
    assert group == interval, ("with the recovery threshold against flicker, a group's flushes "
                               "follow each evaluation by group_wait (docs/alerting.md)")
    assert 60 <= repeat <= 3600 and repeat % group == 0, "minutes"
    [threshold] = [s for s in RULE["data"] if s["refId"] == RULE["condition"]]
    condition = threshold["model"]["conditions"][0]
    assert condition["unloadEvaluator"] == {"type": "lt", "params": [70]}
    assert condition["unloadEvaluator"]["params"][0] < THRESHOLD


def test_the_documented_latency_budget_is_the_provisioned_one():
    from bench.loop_latency import Budget

    budget = Budget.provisioned(PROVISIONING / "alerting")
    text = (ROOT / "docs" / "alerting.md").read_text()
    up, down = budget.up(), budget.down()
    assert f"**{up[0]:g}-{up[1]:g} s going red**" in text
    assert f"**{down[0]:g}-{down[1]:g} s going green**" in text
    for figure in (f"| {up[0]:g}-{up[1]:g} s |", f"| {down[0]:g}-{down[1]:g} s |",
                   f"`group_wait` {budget.group_wait:g} s",
                   f"`group_interval` {budget.group_interval:g} s",
                   f"group `interval` {budget.interval:g} s",
                   f"`relativeTimeRange` {budget.window:g} s",
                   f"threshold {budget.fire_above:g} / recovery {budget.clear_below:g}"):
        assert figure in text, figure


# ---- credentials --------------------------------------------------------------------------------

def test_the_contact_point_uses_the_webhook_variables():
    settings = RECEIVER["settings"]
    assert RECEIVER["type"] == "webhook" and RECEIVER["disableResolveMessage"] is False
    assert settings["username"] == "$WEBHOOK_USERNAME"
    assert settings["password"] == "$WEBHOOK_PASSWORD"
    assert settings["hmacConfig"]["secret"] == "$WEBHOOK_HMAC_SECRET"
    assert settings["hmacConfig"]["timestampHeader"] == "$WEBHOOK_HMAC_TIMESTAMP_HEADER"


def test_the_webhook_reads_those_variables_and_that_header():
    from webhook.auth import SIGNATURE_HEADER
    from webhook.config import read_config

    config = read_config({"WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p",
                          "WEBHOOK_HMAC_SECRET": "s", "WEBHOOK_HMAC_TIMESTAMP_HEADER": "X-T"})
    assert (config.username, config.password, config.hmac_secret,
            config.hmac_timestamp_header) == ("u", "p", "s", "X-T")
    assert RECEIVER["settings"]["hmacConfig"]["header"] == SIGNATURE_HEADER


def test_every_interpolated_variable_reaches_grafana_from_env():
    for path in PROVISIONING.rglob("*.yaml"):
        for name in env_references(yaml.safe_load(path.read_text())):
            assert name in GRAFANA_ENV, f"{path.name}: ${name} is not in grafana's environment"
            assert f"${{{name}" in str(GRAFANA_ENV[name]), name
    for name in ("WEBHOOK_USERNAME", "WEBHOOK_PASSWORD", "WEBHOOK_HMAC_SECRET",
                 "WEBHOOK_HMAC_TIMESTAMP_HEADER"):
        assert GRAFANA_ENV[name] == COMPOSE["services"]["webhook"]["environment"][name]


def test_the_data_source_is_the_read_only_user():
    assert DATASOURCE["user"] == INFLUX_ENV["INFLUXDB_READ_USER"]
    assert DATASOURCE["secureJsonData"]["password"] == "$INFLUXDB_READER_PASSWORD"
    assert GRAFANA_ENV["INFLUXDB_READER_PASSWORD"] == INFLUX_ENV["INFLUXDB_READ_USER_PASSWORD"]
    assert DATASOURCE["jsonData"]["httpMode"] in ("GET", "POST")
    assert DATASOURCE["jsonData"]["dbName"] == "$INFLUXDB_DATABASE"


def test_no_secret_is_written_in_the_provisioning_files(generated):
    text = "".join(p.read_text() for p in PROVISIONING.rglob("*.yaml"))
    for name, value in generated["env"].items():
        if name.endswith(("PASSWORD", "SECRET")) and value:
            assert value not in text


# ---- the queries on a real InfluxDB -------------------------------------------------------------

def time_filter(seconds_back, now_ms):
    """What Grafana's InfluxDB data source puts in place of $timeFilter."""
    return f"time >= {now_ms - seconds_back * 1000}ms and time <= {now_ms}ms"


def call(server, path, params, body=None, method="GET", auth=None):
    """(status, body bytes) of one HTTP call to InfluxDB, with basic auth when given."""
    url = f"{server.url}{path}?{urllib.parse.urlencode(params)}"
    headers = {}
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, body, headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def influx(server, query, database="iot", method="GET", auth=None):
    """(status, JSON) of one /query call."""
    status, body = call(server, "/query", {"q": query, "db": database, "epoch": "ms"},
                        method=method, auth=auth)
    return status, json.loads(body or b"{}")


def write(server, lines, database="iot", auth=None):
    status, _ = call(server, "/write", {"db": database, "precision": "ms"},
                     "\n".join(lines).encode(), method="POST", auth=auth)
    return status


@pytest.fixture
def readings(influxdb):
    """Three devices: two reported within the rule's window, one only before it (with 12 min of
    history, for the windows of the anomaly rule); one PID loop."""
    assert influx(influxdb, "CREATE DATABASE iot", method="POST")[0] == 200
    now = int(time.time() * 1000)
    history = [f"pot,device=esp32-cccccc value={50 + i % 7} {now - 31000 - i * 1000}"
               for i in range(720)]
    loop = [f"{measurement},device=tic101 value={value + i % 3} {now - 1000 - i * 1000}"
            for i in range(60) for measurement, value in (("pv", 60), ("sp", 62), ("out", 40))]
    # The loop's health figures (opcua_bridge/loop_health.py: FIGURES and MARK).
    loop += [f"{measurement},device=tic101 value={value} {now - 1000 - i * 10000}"
             for i in range(6) for measurement, value in (
                 ("error", 2), ("iae", 120), ("ise", 400), ("sat_pct", 0), ("osc_count", 12),
                 ("osc_index", 3), ("travel", 30), ("manual_pct", 0), ("osc_mark", 3))]
    assert write(influxdb, history + loop) == 204
    lines = [
        f"pot,device=esp32-aaaaaa value=80 {now - 2000}",
        f"pot,device=esp32-aaaaaa value=90 {now - 5000}",
        f"pot,device=esp32-bbbbbb value=50 {now - 3000}",
        f"pot,device=esp32-bbbbbb value=60 {now - 6000}",
        f"pot,device=esp32-cccccc value=99 {now - 30000}",
    ]
    assert write(influxdb, lines) == 204
    services = (listener_stats_lines(now) + counter_lines(now) + journal_lines(now)
                + output_lines(now))
    assert call(influxdb, "/write", {"db": "iot", "precision": "ns"},
                "\n".join(services).encode(), method="POST")[0] == 204
    return influxdb, now


# What each service writes, each counter twice (25 s and 5 s ago, growing), made by the services'
# own code where it is on this branch: the listener's Stats and its reading parser.
WEBHOOK_NAMES = ("ingest_requests", "ingest_readings", "ingest_refused_forbidden",
                 "ingest_invalid_bad_name")
# The OPC UA bridge's counters and gauges (opcua_bridge/stats.py, COUNTERS + GAUGES).
BRIDGE_NAMES = ("readings", "republished", "bad_quality", "non_numeric", "dropped", "reconnects",
                "unknown_nodes", "buffered", "session_state", "writes", "write_refused",
                "replayed")
AGES_MS = (25000, 5000)


def listener_stats(step):
    """The listener's Stats with every counter and gauge set, the broker's $SYS ones included."""
    from types import SimpleNamespace

    from listener.broker_stats import BROKER_COUNTERS
    from listener.stats import Stats

    stats = Stats()
    for name in ("received", "stored", "spooled", "retries", "dropped", "influx_rejected",
                 "not_authorized", "spool_bytes", "spool_points", "pending_points"):
        setattr(stats, name, 10 * step)
    stats.lag_ms = 12.5
    stats.seq.gaps, stats.seq.restarts = 10 * step, step
    stats.rejected = dict.fromkeys(stats.rejected, step)
    for topic in BROKER_COUNTERS:
        stats.broker.handle(SimpleNamespace(topic=topic, payload=str(100 * step).encode()))
    return stats


def listener_stats_lines(now_ms):
    from listener.stats import Stats

    return [listener_stats(step).line("listener", (now_ms - age) * 1_000_000)
            for step, age in enumerate(AGES_MS, start=1)] + Stats.missing_lines(
        "listener", {"esp32-aaaaaa": 3}, (now_ms - AGES_MS[-1]) * 1_000_000)


def counter_lines(now_ms):
    """The webhook's and the bridge's counters as the listener stores them: the webhook publishes
    a bare number, the bridge a JSON object with its own `ts`."""
    from listener.line_protocol import encode
    from listener.parse import Parser
    from webhook.reporter import COUNTERS
    from webhook.topics import counter_topic

    parser, lines = Parser("sensors"), []
    for step, age in enumerate(AGES_MS, start=1):
        received = (now_ms - age) * 1_000_000
        for name in COUNTERS + WEBHOOK_NAMES:
            point = parser.parse(counter_topic("sensors", "webhook", name), b"%d" % step, received)
            lines.append(encode(point))
        for name in BRIDGE_NAMES:
            payload = b'{"value":%d,"ts":%d}' % (step, now_ms - age)
            point = parser.parse(f"sensors/opcua-bridge/{name}", payload, now_ms * 1_000_000)
            lines.append(encode(point))
    return lines


def journal_lines(now_ms):
    """Measurement alarm_journal as the listener stores it (docs/topics.md, "InfluxDB"): the
    alert's summary has no device tag, and `by` only when somebody acknowledged."""
    ns = [(now_ms - age) * 1_000_000 for age in (20000, 10000)]
    return [
        f'alarm_journal,alert=pot-high from="normal",to="unacked" {ns[0]}',
        f'alarm_journal,alert=pot-high,device=esp32-aaaaaa from="normal",to="unacked" {ns[0]}',
        f'alarm_journal,alert=pot-high from="unacked",to="acked",by="esp32-dddddd" {ns[1]}',
        f'alarm_journal,alert=pot-high,device=esp32-aaaaaa from="unacked",to="acked",'
        f'by="esp32-dddddd" {ns[1]}',
    ]


def output_lines(now_ms):
    """The actions service's output readings (actions/service.py) of two outputs, as the
    listener stores them: one confirmed and on, one mismatched and offline."""
    from actions.service import readings

    base = {"mode": "auto", "refusals": 0, "mismatch": False, "available": True}
    documents = {"shed-fan": {**base, "commanded": "on", "reported": "on"},
                 "shed-vent": {**base, "commanded": "on", "reported": "unknown", "mismatch": True,
                               "available": False}}
    return [f"{name},device={output} value={value} {(now_ms - age) * 1_000_000}"
            for output, document in documents.items() for age in AGES_MS
            for name, value in readings(document).items()]


def rule_series(server, now_ms):
    window = STEPS["A"]["relativeTimeRange"]["from"]
    query = STEPS["A"]["model"]["query"].replace("$timeFilter", time_filter(window, now_ms))
    status, answer = influx(server, query)
    assert status == 200 and "error" not in answer["results"][0], answer
    return answer["results"][0].get("series", [])


def test_the_rule_query_gives_one_series_per_reporting_device(readings):
    server, now = readings
    series = rule_series(server, now)
    assert sorted(s["tags"]["device"] for s in series) == ["esp32-aaaaaa", "esp32-bbbbbb"]


def test_reduce_and_threshold_fire_for_the_high_device_only(readings):
    server, now = readings
    means = {}
    for s in rule_series(server, now):
        column = s["columns"].index("value") if "value" in s["columns"] else 1
        values = [row[column] for row in s["values"] if row[column] is not None]
        means[s["tags"]["device"]] = sum(values) / len(values)
    assert {device for device, mean in means.items() if mean > THRESHOLD} == {"esp32-aaaaaa"}


def rule_queries():
    """(rule uid/refId, query, window in s) of every query of every provisioned rule."""
    for uid, (_, _, rule) in ALL_RULES.items():
        for step in rule["data"]:
            if step["datasourceUid"] != "__expr__":
                yield f"{uid}/{step['refId']}", step["model"]["query"], \
                    step["relativeTimeRange"]["from"]


@pytest.mark.parametrize("name, query, window", list(rule_queries()),
                         ids=[name for name, _, _ in rule_queries()])
def test_every_rule_query_runs_and_gives_one_series_per_device(readings, name, query, window):
    server, now = readings
    status, answer = influx(server, query.replace("$timeFilter", time_filter(window, now)))
    assert status == 200 and "error" not in answer["results"][0], answer
    series = answer["results"][0].get("series", [])
    assert series, f"{name}: no data"
    devices = [s["tags"]["device"] for s in series]
    assert len(devices) == len(set(devices)), "one series per device"


def test_every_rule_is_routed_and_labelled_like_the_pot_rule():
    for uid, (name, group, rule) in ALL_RULES.items():
        assert re.sub(r"[^a-z0-9]+", "-", rule["title"].lower()).strip("-") == uid, name
        assert group["folder"] == GROUP["folder"] and seconds(group["interval"]) % 10 == 0
        assert rule["noDataState"] == "OK" and rule["execErrState"] == "KeepLast", uid
        queries = [s for s in rule["data"] if s["datasourceUid"] != "__expr__"]
        assert {s["datasourceUid"] for s in queries} == {DATASOURCE["uid"]}
        assert all(re.search(r'GROUP BY .*"device"', s["model"]["query"]) for s in queries)
        assert rule["labels"]["loop"] == RULE["labels"]["loop"]


def test_the_stand_in_loads_every_provisioned_rule():
    from devstack.grafana_standin.rules import load_rules

    assert {rule.uid for rule in load_rules(PROVISIONING / "alerting")} == set(ALL_RULES)


# Each dashboard variable's values on the `readings` data (all of them selected).
VARIABLE_VALUES = {
    "device": ["esp32-aaaaaa", "esp32-bbbbbb", "esp32-cccccc"],
    "loop": ["tic101"],
    "listener": ["listener"],
    "webhook": ["webhook"],
    "bridge": ["opcua-bridge"],
    "output": ["shed-fan", "shed-vent"],
}


def fill(query, now):
    """The query as Grafana sends it: the time filter, a 10 s interval, every variable's values
    (a multi-value variable in a regex becomes `(a|b)`)."""
    query = query.replace("$timeFilter", time_filter(3600, now)).replace("$__interval", "10s")
    for name, values in VARIABLE_VALUES.items():
        query = query.replace(f"/^${name}$/", "/^(" + "|".join(values) + ")$/")
    return query


def dashboard_queries():
    for name, dashboard in DASHBOARD_FILES.items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if "query" in target:
                    yield f"{name}: {panel['title']} {target['refId']}", target["query"]
        for variable in dashboard["templating"]["list"]:
            yield f"{name}: variable {variable['name']}", variable["query"]
        for annotation in dashboard["annotations"]["list"]:
            yield f"{name}: annotation {annotation['name']}", annotation["target"]["query"]


@pytest.mark.parametrize("title, query", list(dashboard_queries()),
                         ids=[title for title, _ in dashboard_queries()])
def test_dashboard_query_runs_and_returns_data(readings, title, query):
    server, now = readings
    filled = fill(query, now)
    assert not re.search(r"\$[A-Za-z_]", filled), f"a macro is left: {filled}"
    status, answer = influx(server, filled)
    assert status == 200 and "error" not in answer["results"][0], answer
    assert answer["results"][0].get("series"), f"{title}: no data"


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_dashboard_expressions_compute_on_the_real_query_results(readings, name):
    """Each math expression of a panel, evaluated as Grafana's server-side expressions do (the
    stand-in's implementation) on what InfluxDB returns for the panel's queries."""
    from devstack.grafana_standin.expressions import Series, evaluate_math, parse_math

    server, now = readings
    for panel in DASHBOARD_FILES[name]["panels"]:
        results = {}
        for target in panel.get("targets", []):
            if "query" not in target:
                continue
            _, answer = influx(server, fill(target["query"], now))
            results[target["refId"]] = [
                Series(s.get("tags") or {}, [(row[0], row[1]) for row in s["values"]])
                for s in answer["results"][0].get("series", [])]
        for target in panel.get("targets", []):
            if target["datasource"] == EXPRESSION_SOURCE:
                values = evaluate_math(parse_math(target["expression"]), results)
                points = [x for v in values for _, x in v.points if x is not None]
                assert points, f"{panel['title']}: the expression gives no data"
                assert all(abs(x) < 1e6 for x in points), points


# ---- the health dashboard and the alarm journal -------------------------------------------------

HEALTH = DASHBOARD_FILES["alertloop-health.json"]
JOURNAL_ROWS = 4  # journal_lines()


def panel_queries(dashboard):
    return [target["query"] for panel in dashboard["panels"]
            for target in panel.get("targets", []) if "query" in target]


def counter_sources(variable):
    """The FROM clause (a measurement or a /regex/) of every health panel that reads the counters
    of the services selected by `variable`."""
    return [re.search(r'FROM (/.+?/|"\w+") WHERE', query).group(1)
            for query in panel_queries(HEALTH) if f"/^${variable}$/" in query]


def shown(name, sources):
    return any(re.search(source[1:-1], name) if source.startswith("/") else source == f'"{name}"'
               for source in sources)


def test_the_dashboards_link_each_other():
    [to_health] = DASHBOARD["links"]
    [back] = HEALTH["links"]
    assert to_health["url"] == f"/d/{HEALTH['uid']}" and HEALTH["uid"] == "alertloop-health"
    assert back["url"] == f"/d/{DASHBOARD['uid']}"
    assert to_health["keepTime"] and back["keepTime"]


def test_every_listener_stats_field_is_on_a_dashboard():
    """The fields the listener writes (its Stats with every $SYS counter seen)."""
    queries = " ".join(q for d in DASHBOARD_FILES.values() for q in panel_queries(d)
                       if 'FROM "listener_stats"' in q)
    shown_fields = set(re.findall(r'last\("(\w+)"\)', queries))
    fields = set(listener_stats(1).fields())
    assert fields <= shown_fields, f"not on a dashboard: {sorted(fields - shown_fields)}"


def test_the_rejection_panel_shows_every_kind_the_listener_counts():
    from listener.stats import KINDS

    [query] = [q for q in panel_queries(HEALTH) if "last(\"rejected_" in q]
    assert set(re.findall(r'last\("(rejected_\w+)"\)', query)) == {f"rejected_{k}" for k in KINDS}


def test_every_webhook_counter_is_on_the_health_dashboard():
    from webhook.reporter import COUNTERS

    sources = counter_sources("webhook")
    names = set(COUNTERS) | ingest_counter_names()
    assert {name for name in names if not shown(name, sources)} == set()


def ingest_counter_names():
    """Every counter webhook/ingest.py counts, read from its code: ingest_refused_<reason> for each
    reason passed to _refuse (which counts through refusal()) or returned by webhook/csrf.py,
    ingest_invalid_<kind> for each kind of reading, and plain names."""
    from service_common.readings import KINDS

    tree = ast.parse((ROOT / "webhook" / "ingest.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    reasons = {call.args[2].value for call in calls
               if isinstance(call.func, ast.Name) and call.func.id == "_refuse"
               and len(call.args) > 2 and isinstance(call.args[2], ast.Constant)}
    # _refuse(*cross_site_problem(...)): the reasons webhook/csrf.py returns, last in a triple.
    csrf = ast.parse((ROOT / "webhook" / "csrf.py").read_text())
    reasons |= {node.elts[2].value for node in ast.walk(csrf)
                if isinstance(node, ast.Tuple) and len(node.elts) == 3
                and isinstance(node.elts[2], ast.Constant)}
    families = {"ingest_refused_": reasons, "ingest_invalid_": set(KINDS)}
    names = set()
    for call in calls:
        callee = getattr(call.func, "attr", getattr(call.func, "id", None))
        if callee in ("count", "refusal"):  # count(name), refusal(status, reason, name)
            name = call.args[0 if callee == "count" else 2]
            if isinstance(name, ast.Constant):
                names.add(name.value)
            else:
                prefix = name.values[0].value
                assert prefix in families, f"a new family of counters {prefix}...: show it"
                names |= {prefix + member for member in families[prefix]}
    assert {"ingest_requests", "ingest_readings", "ingest_refused_forbidden"} <= names
    return names


def test_every_bridge_counter_is_on_the_health_dashboard():
    sources = counter_sources("bridge")
    assert {name for name in BRIDGE_NAMES if not shown(name, sources)} == set()


def test_the_bridge_names_are_the_bridges_own():
    stats = pytest.importorskip("opcua_bridge.stats",
                                reason="the OPC UA bridge (branch opcua) is not merged yet")
    assert set(BRIDGE_NAMES) == set(stats.COUNTERS + stats.GAUGES)


def test_counters_are_shown_as_rates_and_gauges_as_values():
    """A counter restarts from 0 with its process: a panel of counters shows
    non_negative_derivative, never the raw total; a gauge shows its last value."""
    from webhook.reporter import COUNTERS

    gauges = {"pending_points", "spool_points", "spool_bytes", "lag_ms", "broker_store_messages",
              "broker_store_bytes", "broker_inflight", "broker_clients_connected", "buffered",
              "unknown_nodes", "session_state"}
    every_name = (set(listener_stats(1).fields()) | set(COUNTERS) | set(WEBHOOK_NAMES)
                  | set(BRIDGE_NAMES))
    assert gauges <= every_name
    for query in panel_queries(HEALTH):
        source = re.search(r'FROM (/.+?/|"\w+") WHERE', query).group(1)
        for rate, field in re.findall(r'(non_negative_derivative\()?last\("(\w+)"\)', query):
            names = [field] if field != "value" else [n for n in every_name if shown(n, [source])]
            assert names, query
            for name in names:
                assert bool(rate) == (name not in gauges), (name, query)


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_every_variable_gives_the_values_the_tests_select(readings, name):
    server, _ = readings
    for variable in DASHBOARD_FILES[name]["templating"]["list"]:
        status, answer = influx(server, variable["query"])
        assert status == 200
        values = sorted(row[1] for s in answer["results"][0]["series"] for row in s["values"])
        assert values == VARIABLE_VALUES[variable["name"]]


def test_every_health_counter_gives_a_rising_rate(readings):
    """Each counter the services wrote shows as its own series (or column), with a rate above 0:
    each was written twice, growing."""
    server, now = readings
    seen = set()
    for panel in HEALTH["panels"]:
        for target in panel.get("targets", []):
            _, answer = influx(server, fill(target["query"], now))
            for series in answer["results"][0]["series"]:
                columns = list(zip(*series["values"]))[1:]
                for column, values in zip(series["columns"][1:], columns, strict=True):
                    assert all(v is not None and v > 0 for v in values), (column, series)
                    seen.add(series["name"] if column in ("value", "last",
                                                          "non_negative_derivative") else column)
    expected = (set(listener_stats(1).fields()) - {"received", "stored", "rejected", "retries",
                                                    "dropped", "pending_points", "spool_points",
                                                    "lag_ms"})
    expected |= set(BRIDGE_NAMES) | set(WEBHOOK_NAMES)
    from webhook.reporter import COUNTERS
    expected |= set(COUNTERS)
    assert expected <= seen, sorted(expected - seen)


@pytest.mark.parametrize("annotation", DASHBOARD["annotations"]["list"],
                         ids=[a["name"] for a in DASHBOARD["annotations"]["list"]])
def test_each_journal_annotation_row_has_every_column(readings, annotation):
    """Grafana's InfluxQL annotations take the time, the text column and the tag columns of each
    row, and drop a row with any empty column: every selected column must be set."""
    server, now = readings
    target = annotation["target"]
    assert annotation["enable"] and target["rawQuery"] and target["fromAnnotations"]
    assert "$timeFilter" in target["query"]
    _, answer = influx(server, fill(target["query"], now))
    [series] = answer["results"][0]["series"]
    assert series["name"] == "alarm_journal"
    wanted = [target["textColumn"], *target["tagsColumn"].split(",")]
    assert set(wanted) <= set(series["columns"])
    assert series["values"] and all(None not in row for row in series["values"])


def test_the_journal_annotations_show_each_transition_once(readings):
    server, now = readings
    rows = []
    for annotation in DASHBOARD["annotations"]["list"]:
        _, answer = influx(server, fill(annotation["target"]["query"], now))
        rows += answer["results"][0]["series"][0]["values"]
    assert len(rows) == JOURNAL_ROWS


def test_the_alarm_journal_table(readings):
    server, now = readings
    [panel] = [p for p in DASHBOARD["panels"] if p["title"] == "Alarm journal"]
    [target] = panel["targets"]
    assert panel["type"] == "table" and target["resultFormat"] == "table"
    _, answer = influx(server, fill(target["query"], now))
    [series] = answer["results"][0]["series"]
    assert series["columns"] == ["time", "alert", "device", "from", "to", "by"]
    times = [row[0] for row in series["values"]]
    assert len(times) == JOURNAL_ROWS and times == sorted(times, reverse=True), "newest first"
    assert ["pot-high", None, "unacked", "acked", "esp32-dddddd"] in [row[1:] for row in
                                                                      series["values"]]


# ---- the users the InfluxDB image creates ------------------------------------------------------

def test_the_grafana_user_can_read_but_not_write(influxdb_factory):
    """The same statements as the influxdb image's first start (INFLUXDB_ADMIN_USER,
    INFLUXDB_USER, INFLUXDB_READ_USER), then what each user may do."""
    server = influxdb_factory(auth=True)
    admin, writer, reader = ("admin", "a-pw"), ("listener", "w-pw"), ("grafana", "r-pw")
    for statement, auth in [
        ("CREATE USER admin WITH PASSWORD 'a-pw' WITH ALL PRIVILEGES", None),
        ("CREATE DATABASE iot", admin),
        ("CREATE USER listener WITH PASSWORD 'w-pw'", admin),
        ('GRANT ALL ON "iot" TO "listener"', admin),
        ("CREATE USER grafana WITH PASSWORD 'r-pw'", admin),
        ('GRANT READ ON "iot" TO "grafana"', admin),
    ]:
        status, answer = influx(server, statement, method="POST", auth=auth)
        assert status == 200 and "error" not in answer["results"][0], (statement, answer)

    now = int(time.time() * 1000)
    assert write(server, [f"pot,device=esp32-aaaaaa value=80 {now}"], auth=writer) == 204
    assert write(server, [f"pot,device=esp32-aaaaaa value=1 {now}"], auth=reader) == 403
    assert write(server, [f"pot,device=esp32-aaaaaa value=1 {now}"]) == 401

    query = STEPS["A"]["model"]["query"].replace("$timeFilter", time_filter(10, now + 1000))
    status, answer = influx(server, query, auth=reader)
    assert status == 200 and answer["results"][0]["series"][0]["values"][0][1] == 80
    status, answer = influx(server, "DROP MEASUREMENT pot", method="POST", auth=reader)
    assert status == 403 or "error" in answer["results"][0]
    status, answer = influx(server, "DROP MEASUREMENT pot", method="GET", auth=writer)
    assert status != 200 or "error" in answer["results"][0], "GET must refuse a write statement"


def test_the_webhook_knows_every_provisioned_rule_at_start_up():
    """WEBHOOK_KNOWN_ALERTS as shipped (.env.example and compose's default) names every
    provisioned rule, so an indicator following any of them shows green, not unknown, at first."""
    alerting = ROOT / "grafana" / "provisioning" / "alerting"
    titles = {rule["title"] for path in alerting.glob("*.yaml")
              for group in (yaml.safe_load(path.read_text()) or {}).get("groups", [])
              for rule in group["rules"]}
    example = re.search(r"(?m)^WEBHOOK_KNOWN_ALERTS=(.*)$", (ROOT / ".env.example").read_text())
    compose = re.search(r"WEBHOOK_KNOWN_ALERTS-([^}]*)\}",
                        (ROOT / "docker-compose.yml").read_text())
    assert set(example.group(1).split(",")) == titles
    assert set(compose.group(1).split(",")) == titles


def test_the_stand_in_fires_the_transit_rule_for_the_device_with_missing_readings(readings):
    """The listener's own seq_missing lines (esp32-aaaaaa: 3 missing), the rule's InfluxQL on the
    real InfluxDB, and the stand-in's reduce and threshold on the result."""
    from devstack.grafana_standin.evaluate import run_expressions
    from devstack.grafana_standin.expressions import Series
    from devstack.grafana_standin.rules import load_rules

    server, now = readings
    [rule] = [r for r in load_rules(PROVISIONING / "alerting")
              if r.uid == "readings-lost-in-transit"]
    results = {}
    for query in rule.queries:
        filled = query.influxql.replace("$timeFilter", time_filter(int(query.range_from), now))
        status, answer = influx(server, filled)
        assert status == 200, answer
        results[query.ref_id] = [Series(s["tags"], [(row[0], row[1]) for row in s["values"]])
                                 for s in answer["results"][0].get("series", [])]
    values = run_expressions(rule, results)
    firing = {n.labels["device"]: n.value for n in values[rule.condition]}
    assert firing == {"esp32-aaaaaa": 1.0}
