"""The console's pages against a real broker: login, CSRF, roles, sessions, acknowledgement
and shelve requests as CONTRACTS.md words them, every refusal counted and journaled."""

import json
import re
import time

import pytest

from console import security
from console.alarms import AlarmBoard
from console.app import create_app
from console.changes import Changes
from console.config import read_config
from console.counters import Counters
from console.link import Link
from devstack.mqtt_probe import Probe
from devstack.wait import wait_until
from tests.support.console import console_env, info, info_topic, make_users


@pytest.fixture
def console(mosquitto, tmp_path):
    config = read_config(console_env(mosquitto, make_users(tmp_path / "users.json"), 0,
                                     CONSOLE_LOGIN_TRIES_PER_MINUTE="3"))
    board, changes, counters = AlarmBoard(), Changes(), Counters()
    link = Link(config.mqtt, board, changes, counters)
    link.start()
    wait_until(link.connected, 10, message="console not connected")
    app = create_app(config, link=link, board=board, changes=changes, counters=counters)
    with Probe(mosquitto.host, mosquitto.port, ["alerts/+/+/ack/+", "alerts/+/ack/+",
                                                "alerts/+/+/shelve/+", "journal/+"]) as probe:
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
    before = time.time() * 1000
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


def test_an_expired_session_is_refused(console, monkeypatch):
    client = console.test_client()
    login(client)
    csrf = token(client.get("/"))
    later = time.time() + 3601  # the default idle limit is an hour
    monkeypatch.setattr(security.time, "time", lambda: later)
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
