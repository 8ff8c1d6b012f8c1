"""The read API against a real InfluxDB: bearer tokens, every endpoint, the bounds (range,
points, entries) and a 400 naming what is wrong."""

import json
import re
import time

import pytest
from influxdb import InfluxDBClient

from console.alarms import AlarmBoard
from console.app import create_app
from console.config import read_config
from console.history import History, InfluxSettings
from console.outputs import OutputBoard
from console.tokens import Tokens, add_token, main, remove_token
from tests.support.console import PASSWORDS, SECRET_KEY, info, make_users

NOW_MS = time.time_ns() // 1_000_000


@pytest.fixture
def api(influxdb, tmp_path):
    client = InfluxDBClient(influxdb.host, influxdb.port, database="iot")
    client.create_database("iot")
    lines = [f"pot,device=esp32-shed value={i} {(NOW_MS - i * 1000) * 1_000_000}"
             for i in range(600)]
    lines += [f'alarm_journal,alert=pot-high,device=esp32-shed from="normal",to="unacked" '
              f"{(NOW_MS - 5000) * 1_000_000}",
              f'alarm_journal,alert=pot-high,device=esp32-shed from="unacked",to="acked",'
              f'by="console:olga" {(NOW_MS - 1000) * 1_000_000}']
    client.write_points(lines, protocol="line", time_precision="n")
    tokens = tmp_path / "tokens.json"
    token = add_token(tokens, "mes")
    config = read_config({"CONSOLE_SECRET_KEY": SECRET_KEY, "CONSOLE_TOKENS_FILE": str(tokens),
                          "CONSOLE_USERS_FILE": str(tmp_path / "users.json"),
                          "CONSOLE_API_MAX_POINTS": "100", "CONSOLE_API_MAX_RANGE_S": "86400",
                          "CONSOLE_API_MAX_ENTRIES": "10"})
    board, outputs = AlarmBoard(), OutputBoard()
    board.message("alerts/pot-high/esp32-shed/info",
                  info("pot-high", "esp32-shed", value=93.5, threshold=80).encode())
    outputs.message("actions/shed-fan/state", json.dumps({
        "id": "shed-fan", "mode": "auto", "commanded": "on", "reported": "on",
        "confirmed": True, "available": True}).encode())
    history = History(InfluxSettings(url=influxdb.url, database="iot"))
    app = create_app(config, board=board, outputs=outputs, history=history)
    app.token, app.tokens_file = token, tokens
    yield app
    client.close()


def get(app, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token or app.token}"} if token != "" else {}
    return app.test_client().get(path, headers=headers, query_string=params)


def test_a_token_is_needed_and_checked(api):
    assert get(api, "/api/alarms", token="").status_code == 401
    answer = get(api, "/api/alarms", token="mes.wrong")
    assert answer.status_code == 401 and answer.json["error"] == "unknown or revoked token"
    assert get(api, "/api/alarms").status_code == 200
    remove_token(api.tokens_file, "mes")
    assert get(api, "/api/alarms").status_code == 401  # revoked at once, no restart


def test_guessing_tokens_is_throttled(api):
    for _ in range(5):
        get(api, "/api/alarms", token="mes.guess")
    assert get(api, "/api/alarms", token="mes.guess").status_code == 429
    counters = api.extensions["console"]["counters"].snapshot()
    assert counters["refused_api_token"] == 5 and counters["refused_api_throttled"] == 1


def test_alarms_and_outputs(api):
    alarm = get(api, "/api/alarms").json["alarms"][0]
    assert alarm["id"] == "pot-high/esp32-shed" and alarm["state"] == "unacked"
    assert (alarm["value"], alarm["threshold"]) == (93.5, 80)
    output = get(api, "/api/outputs").json["outputs"][0]
    assert output["id"] == "shed-fan" and output["confirmed"] is True
    assert api.test_client().post("/api/alarms").status_code == 405


def test_readings_downsampled_with_epoch_ms_or_rfc3339(api):
    answer = get(api, "/api/readings", device="esp32-shed", measurement="pot",
                 **{"from": str(NOW_MS - 600_000), "to": str(NOW_MS + 1), "points": "10"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["bucket_s"] == 61 and 1 <= len(body["points"]) <= 10
    assert all(p["min"] <= p["mean"] <= p["max"] for p in body["points"])
    rfc = get(api, "/api/readings", device="esp32-shed", measurement="pot",
              **{"from": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                       time.gmtime(NOW_MS / 1000 - 600))})
    assert rfc.status_code == 200 and 50 < len(rfc.json["points"]) <= 100  # the maximum


@pytest.mark.parametrize("params, message", [
    ({"measurement": "pot"}, "device is required"),
    ({"device": "a/b", "measurement": "pot"}, "device"),
    ({"device": "d", "measurement": "pot", "from": "yesterday"}, "neither epoch milliseconds"),
    ({"device": "d", "measurement": "pot", "from": "2026-01-02T03:04:05"}, "time zone"),
    ({"device": "d", "measurement": "pot", "from": "2000", "to": "1000"}, "outside 2000"),
    ({"device": "d", "measurement": "pot", "from": str(NOW_MS), "to": str(NOW_MS - 1)},
     "from must be before to"),
    ({"device": "d", "measurement": "pot", "from": str(NOW_MS - 90_000_000)},
     "longer than 86400 s"),
    ({"device": "d", "measurement": "pot", "points": "101"}, "points='101' must be"),
])
def test_bad_requests_are_400_with_the_reason(api, params, message):
    answer = get(api, "/api/readings", **params)
    assert answer.status_code == 400 and message in answer.json["error"]


def test_the_alarm_journal_newest_first_and_bounded(api):
    entries = get(api, "/api/journal").json["entries"]
    assert [(e["to"], e["by"]) for e in entries] == [("acked", "console:olga"),
                                                       ("unacked", None)]
    assert get(api, "/api/journal", limit="11").status_code == 400
    assert len(get(api, "/api/journal", limit="1").json["entries"]) == 1


def test_influxdb_unreachable_is_503(api, influxdb):
    influxdb.stop()
    answer = get(api, "/api/readings", device="esp32-shed", measurement="pot")
    assert answer.status_code == 503 and "InfluxDB" in answer.json["error"]


def test_openapi_describes_every_endpoint(api):
    document = get(api, "/api/openapi.json").json
    assert set(document["paths"]) == {"/api/alarms", "/api/outputs", "/api/journal",
                                      "/api/readings"}


def test_token_command(tmp_path, capsys):
    path = tmp_path / "t.json"
    assert main(["--file", str(path), "add", "scada"]) == 0
    token = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert Tokens(path).check(token) == "scada" and token not in path.read_text()
    assert main(["--file", str(path), "add", "bad.name"]) == 2


def test_the_performance_page_from_the_journal(api):
    client = api.test_client()
    make_users(api.config["CONSOLE"].users_file)
    page = client.get("/login")
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    client.post("/login", data={"username": "vic", "password": PASSWORDS["vic"][1],
                                "csrf_token": csrf})
    text = client.get("/performance").data.decode()
    assert 'id="rate">0.01<' in text  # one alarm in 24 h: 1 / 144 windows
    assert "pot-high" in text and 'id="flood">0.0 %' in text
    assert "from must be before to" in client.get(
        "/performance", query_string={"from": "2000000000000", "to": "1900000000000"}
    ).data.decode()
