"""The console's pages against a real broker: login, CSRF, roles, sessions, acknowledgement
and shelve requests as CONTRACTS.md words them, every refusal counted and journaled."""

import json
import re
import time

import pytest

from console.alarms import AlarmBoard
from console.app import create_app
from console.changes import Changes
from console.config import read_config
from console.counters import Counters
from console.link import Link
from console.outputs import OutputBoard
from console.values import ValueBoard
from devstack.mqtt_probe import Probe
from devstack.wait import wait_until
from tests.support.console import console_env, info, info_topic, make_users


@pytest.fixture
def console(mosquitto, tmp_path):
    config = read_config(console_env(mosquitto, make_users(tmp_path / "users.json"), 0,
                                     CONSOLE_LOGIN_TRIES_PER_MINUTE="3"))
    board, counters, outputs = AlarmBoard(), Counters(), OutputBoard()
    values = ValueBoard(Changes())
    link = Link(config.mqtt, board, outputs, values, counters)
    link.start()
    wait_until(link.connected, 10, message="console not connected")
    skipped = [0.0]  # seconds the sessions' clock is ahead of the real one
    app = create_app(config, link=link, board=board, counters=counters, outputs=outputs,
                     values=values, clock=lambda: time.time() + skipped[0])
    app.skip = lambda seconds: skipped.__setitem__(0, skipped[0] + seconds)
    with Probe(mosquitto.host, mosquitto.port, ["alerts/+/+/ack/+", "alerts/+/ack/+",
                                                "alerts/+/+/shelve/+", "journal/+",
                                                "actions/+/mode/set", "status/+"]) as probe:
        app.probe = probe
        yield app
    link.close()


def token(page):
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def login(client, name="olga", password=None):
    from tests.support.console import PASSWORDS
    password = password if password is not None else PASSWORDS[name][1]
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token(page)})


def journal(probe, kind):
    return [json.loads(p) for t, p, _ in probe.received() if t == "journal/console"
            and json.loads(p)["kind"] == kind]


def publish_alarm(app, probe, *args, **kwargs):
    board = app.extensions["console"]["board"]
    version = board.version
    probe.publish(info_topic(*args[:2]), info(*args, **kwargs), retain=True)
    wait_until(lambda: board.version != version, 10, message="alarm not seen")


def test_pages_need_a_login(console):
    client = console.test_client()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get("/events/alarms").status_code == 401
    health = client.get("/healthz")  # compose's healthcheck: no login, connected to the broker
    assert health.status_code == 200 and health.json == {"broker": True}


def test_session_cookie_is_secure_httponly_samesite(mosquitto, tmp_path):
    environ = console_env(mosquitto, make_users(tmp_path / "u.json"), 0)
    del environ["CONSOLE_COOKIE_SECURE"]
    app = create_app(read_config(environ))
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_is_journaled_and_throttled(console):
    client = console.test_client()
    for _ in range(3):
        assert login(client, "olga", "wrong").status_code == 401
    throttled = login(client, "olga")  # even the right password waits now
    assert throttled.status_code == 429 and b"Too many tries" in throttled.data
    # Another address may still try another name, but not this name.
    other = console.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert login(other, "olga").status_code == 429
    assert login(other, "vic").status_code == 302
    counters = console.extensions["console"]["counters"].snapshot()
    assert counters["refused_login"] == 3 and counters["refused_login_throttled"] == 2
    wait_until(lambda: journal(console.probe, "login"), 10)
    assert journal(console.probe, "login")[0]["by"] == "vic"
    assert len(journal(console.probe, "login_refused")) == 5


def test_acknowledge_one_publishes_with_the_operator(console):
    publish_alarm(console, console.probe, "pot-high", "esp32-shed", value=93.5, threshold=80)
    client = console.test_client()
    login(client)
    page = client.get("/")
    assert b"pot-high" in page.data and b"93.5" in page.data and b"80" in page.data
    response = client.post("/alarms/ack", data={"alarm": "pot-high/esp32-shed",
                                                "csrf_token": token(page)})
    assert response.status_code == 303
    topic = "alerts/pot-high/esp32-shed/ack/console"
    console.probe.wait_for(topic)
    assert json.loads(console.probe.last(topic)) == {"by": "olga"}
    wait_until(lambda: journal(console.probe, "ack"), 10)
    assert journal(console.probe, "ack")[0]["by"] == "olga"
    assert b"Acknowledged 1 alarm" in client.get("/").data


def test_shelve_and_out_of_service_requests(console):
    publish_alarm(console, console.probe, "pv-high", "plc")
    client = console.test_client()
    login(client)
    csrf = token(client.get("/"))
    before = int(time.time() * 1000)
    client.post("/alarms/shelve", data={"alarm": "pv-high/plc", "action": "shelve",
                                        "minutes": "30", "reason": "sensor repair",
                                        "csrf_token": csrf})
    topic = "alerts/pv-high/plc/shelve/console"
    console.probe.wait_for(topic)
    request = json.loads(console.probe.last(topic))
    assert request["action"] == "shelve" and request["by"] == "olga"
    assert request["reason"] == "sensor repair"
    assert before + 30 * 60_000 <= request["until"] <= time.time() * 1000 + 30 * 60_000
    client.post("/alarms/shelve", data={"alarm": "pv-high/plc", "action": "out-of-service",
                                        "reason": "decommissioned", "csrf_token": csrf})
    wait_until(lambda: len(console.probe.payloads(topic)) == 2, 10)
    assert json.loads(console.probe.last(topic)) == {
        "action": "out-of-service", "by": "olga", "reason": "decommissioned"}


@pytest.mark.parametrize("form, message", [
    ({"action": "shelve", "minutes": "481", "reason": "r"}, b"Shelve for 1 to 480 minutes"),
    ({"action": "shelve", "minutes": "x", "reason": "r"}, b"Shelve for 1 to 480 minutes"),
    ({"action": "shelve", "minutes": "10", "reason": " "}, b"Give a reason"),
    ({"action": "explode", "reason": "r"}, b"Unknown action"),
    ({"action": "shelve", "minutes": "10", "reason": "r" * 201}, b"longer than 200"),
])
def test_bad_shelve_requests_are_refused_with_a_message(console, form, message):
    publish_alarm(console, console.probe, "pv-high", "plc")
    client = console.test_client()
    login(client)
    csrf = token(client.get("/"))
    client.post("/alarms/shelve", data={"alarm": "pv-high/plc", "csrf_token": csrf, **form})
    assert message in client.get("/").data
    assert console.extensions["console"]["counters"].snapshot()["refused_bad_input"] == 1
    assert console.probe.received("alerts/pv-high/plc/shelve/console") == []


def test_missing_or_wrong_csrf_is_refused_counted_and_journaled(console):
    publish_alarm(console, console.probe, "pot-high", "d")
    client = console.test_client()
    login(client)
    for data in ({"alarm": "pot-high/d"}, {"alarm": "pot-high/d", "csrf_token": "forged"}):
        response = client.post("/alarms/ack", data=data)
        assert response.status_code == 400 and b"CSRF" in response.data
    assert console.extensions["console"]["counters"].snapshot()["refused_csrf"] == 2
    wait_until(lambda: len(journal(console.probe, "refused")) == 2, 10)
    assert journal(console.probe, "refused")[0]["subject"] == "csrf"
    assert console.probe.received("alerts/pot-high/d/ack/console") == []


def test_login_form_needs_its_csrf_token(console):
    response = console.test_client().post("/login", data={"username": "olga",
                                                           "password": "olga-password-1"})
    assert response.status_code == 400


def test_a_viewer_may_look_but_not_acknowledge(console):
    publish_alarm(console, console.probe, "pot-high", "d")
    client = console.test_client()
    login(client, "vic")
    page = client.get("/")
    assert b"pot-high" in page.data and b"Acknowledge" not in page.data
    response = client.post("/alarms/ack", data={"alarm": "pot-high/d",
                                                "csrf_token": token(page)})
    assert response.status_code == 403 and b"Your role (viewer) may not" in response.data
    wait_until(lambda: journal(console.probe, "refused"), 10)
    assert journal(console.probe, "refused")[0]["by"] == "vic"
    assert console.probe.received("alerts/pot-high/d/ack/console") == []


def test_an_expired_session_is_refused(console):
    client = console.test_client()
    login(client)
    csrf = token(client.get("/"))
    console.skip(3601)  # the default idle limit is an hour
    response = client.post("/alarms/ack", data={"alarm": "x", "csrf_token": csrf})
    assert response.status_code == 401 and b"expired" in response.data
    assert console.extensions["console"]["counters"].snapshot()["refused_expired_session"] == 1
    assert client.get("/").status_code == 302


def test_names_from_boards_are_shown_as_text(console):
    evil = "<script>alert(1)</script>"
    publish_alarm(console, console.probe, "pot-high", "d", summary=evil)
    client = console.test_client()
    login(client)
    page = client.get("/").data
    assert evil.encode() not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_acknowledge_all_shown(console):
    for device in ("d1", "d2", "d3"):
        publish_alarm(console, console.probe, "pot-high", device)
    publish_alarm(console, console.probe, "pot-low", "d4", state="acked")
    client = console.test_client()
    login(client)
    page = client.get("/")
    assert b"Acknowledge all shown (3)" in page.data
    fields = re.findall(rb'id="ack-all".*', page.data, re.S)
    assert fields
    client.post("/alarms/ack", data={"alarm": ["pot-high/d1", "pot-high/d2", "pot-high/d3",
                                               "pot-low/d4", "gone/d9"],
                                     "csrf_token": token(page)})
    for device in ("d1", "d2", "d3"):
        console.probe.wait_for(f"alerts/pot-high/{device}/ack/console")
    after = client.get("/").data
    assert b"Acknowledged 3 alarms" in after and b"1 alarm no longer listed" in after
    assert console.probe.received("alerts/pot-low/d4/ack/console") == []


def publish_output(app, probe, output_id, **fields):
    board = app.extensions["console"]["outputs"]
    version = board.version
    document = {"id": output_id, "kind": "board", "mode": "auto", "commanded": "off",
                "reported": "off", "confirmed": True, "optimistic": False, "mismatch": False,
                "available": True, "since": 1_700_000_000_000, "override": None, **fields}
    probe.publish(f"actions/{output_id}/state", json.dumps(document), retain=True)
    wait_until(lambda: board.version != version, 10, message="output not seen")


def test_outputs_show_mode_and_mismatch(console):
    publish_output(console, console.probe, "shed-fan")
    publish_output(console, console.probe, "pump", mode="hand", commanded="on",
                   reported="off", confirmed=False, mismatch=True,
                   override={"mode": "hand", "value": "on", "until": None, "by": "olga",
                             "reason": "<b>test</b>"})
    client = console.test_client()
    login(client, "vic")
    page = client.get("/outputs").data.decode()
    assert page.index("pump") < page.index("shed-fan")  # the abnormal one first
    assert "MISMATCH" in page and "HAND" in page and "&lt;b&gt;test&lt;/b&gt;" in page
    assert "Review" not in page  # a viewer has no controls


def test_hand_with_a_confirmation_step_and_expiry(console):
    publish_output(console, console.probe, "shed-fan")
    client = console.test_client()
    login(client)
    csrf = token(client.get("/outputs"))
    form = {"mode": "hand", "value": "on", "minutes": "30", "reason": "pump test",
            "csrf_token": csrf}
    review = client.post("/outputs/shed-fan/mode", data=form)
    assert review.status_code == 200 and b"Confirm" in review.data
    assert console.probe.received("actions/shed-fan/mode/set") == []
    before = int(time.time() * 1000)
    client.post("/outputs/shed-fan/mode", data={**form, "confirm": "yes"})
    console.probe.wait_for("actions/shed-fan/mode/set")
    sent = json.loads(console.probe.last("actions/shed-fan/mode/set"))
    assert sent["mode"] == "hand" and sent["value"] == "on" and sent["by"] == "olga"
    assert sent["reason"] == "pump test"
    assert before + 30 * 60_000 <= sent["until"] <= time.time() * 1000 + 30 * 60_000
    client.post("/outputs/shed-fan/mode", data={"mode": "auto", "confirm": "yes",
                                                "csrf_token": csrf})
    wait_until(lambda: len(console.probe.payloads("actions/shed-fan/mode/set")) == 2, 10)
    assert json.loads(console.probe.last("actions/shed-fan/mode/set")) == {
        "mode": "auto", "by": "olga", "reason": "", "until": None}


@pytest.mark.parametrize("form, message", [
    ({"mode": "turbo"}, b"the mode must be one of"),
    ({"mode": "hand", "value": "lots", "reason": "r"}, b"a hand value is on, off or a number"),
    ({"mode": "off", "reason": ""}, b"give a reason"),
    ({"mode": "off", "reason": "r", "minutes": "0"}, b"the expiry is 1 to"),
])
def test_bad_mode_requests_are_refused(console, form, message):
    publish_output(console, console.probe, "shed-fan")
    client = console.test_client()
    login(client)
    csrf = token(client.get("/outputs"))
    client.post("/outputs/shed-fan/mode", data={**form, "confirm": "yes", "csrf_token": csrf})
    assert message in client.get("/outputs").data
    assert console.probe.received("actions/shed-fan/mode/set") == []


def test_an_unknown_output_is_404_and_journaled(console):
    client = console.test_client()
    login(client)
    csrf = token(client.get("/outputs"))
    response = client.post("/outputs/nope/mode", data={"mode": "off", "reason": "r",
                                                       "confirm": "yes", "csrf_token": csrf})
    assert response.status_code == 404 and b"There is no output" in response.data
    wait_until(lambda: journal(console.probe, "refused"), 10)
    assert journal(console.probe, "refused")[0]["subject"] == "unknown_output"


def test_an_expired_session_keeps_the_login_forms_token(console):
    """A tab's request that finds the session expired must not void a login form opened
    meanwhile in another tab."""
    client = console.test_client()
    login(client)
    form_token = token(client.get("/login"))
    console.skip(3601)
    assert client.get("/").status_code == 302  # expired
    assert login_with(client, form_token).status_code == 302


def login_with(client, csrf):
    from tests.support.console import PASSWORDS
    return client.post("/login", data={"username": "olga", "password": PASSWORDS["olga"][1],
                                       "csrf_token": csrf})


def test_live_values_with_status_and_names_as_text(console):
    values = console.extensions["console"]["values"]
    version = values.version
    console.probe.publish("sensors/esp32-shed/pot", b"42.5")
    console.probe.publish("sensors/<i>x/temp", b'{"value": 21, "ts": 1700000000000}')
    console.probe.publish("sensors/esp32-shed/pot", b"not a number")
    console.probe.publish("status/esp32-shed", b"offline", retain=True)
    console.probe.publish("sensors/tic101/pv", b"50")
    wait_until(lambda: len(values.series()) == 3 and values.status("esp32-shed"), 10)
    assert values.version != version and values.bad_messages == 1
    client = console.test_client()
    login(client, "vic")
    page = client.get("/values").data.decode()
    assert "42.5" in page and "OFFLINE" in page and "&lt;i&gt;x" in page and "<i>x" not in page
    assert 'href="/loops/tic101"' in page
    loop = client.get("/loops/tic101")
    assert loop.status_code == 200 and b"PV 50" in loop.data
    assert client.get("/loops/nope").status_code == 404


def test_a_removed_user_is_logged_out_at_the_next_request(console):
    from console.users import remove_user
    client = console.test_client()
    login(client)
    assert client.get("/").status_code == 200
    remove_user(console.config["CONSOLE"].users_file, "olga")
    assert client.get("/").status_code == 302


def test_pages_forbid_inline_scripts(console):
    headers = console.test_client().get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
