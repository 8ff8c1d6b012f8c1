"""The console in a real browser (Debian's chromium through Selenium), against a real broker and
`python -m console`, read as an operator's steps. The webhook's side is played by publishing the
retained `alerts/.../info` documents it publishes (CONTRACTS.md); screenshots are kept under
build/screenshots."""

import json
import shutil
import time

import pytest

from devstack.mqtt_probe import Probe
from devstack.wait import wait_until
from tests.support.browser import screenshot, start_chromium
from tests.support.console import PASSWORDS, ConsoleServer, info, info_topic
from tests.support.console_pages import AlarmPage, LoginPage, OutputPage, ValuesPage

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def chromium():
    driver, profile = start_chromium()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chromium):
    # Every console of the tests is on localhost: clear the cookies of all of them.
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    yield chromium
    chromium.get("about:blank")


@pytest.fixture
def console(mosquitto):
    server = ConsoleServer(mosquitto)
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def webhook(mosquitto):
    """The webhook's side: publishes retained info documents, records what the console sends."""
    with Probe(mosquitto.host, mosquitto.port, ["alerts/#", "journal/console"]) as probe:
        yield probe


def log_in(browser, console, name="olga"):
    return LoginPage(browser, console.url).open().login(name, PASSWORDS[name][1])


def fire(webhook, alert, device, **kwargs):
    webhook.publish(info_topic(alert, device), info(alert, device, **kwargs), retain=True)


def test_a_new_alarm_appears_live_and_the_operator_acknowledges_it(browser, console, webhook):
    page = log_in(browser, console)
    fire(webhook, "pot-high", "esp32-shed", value=93.5, threshold=80, summary="Pot above 80 %")
    cells = page.cells("pot-high/esp32-shed")
    assert cells[0].endswith("Unacknowledged") and cells[1:3] == ["pot-high", "esp32-shed"]
    assert cells[5:8] == ["93.5", "80", "Pot above 80 %"]
    screenshot(browser, "console-alarm-unacknowledged")
    assert "Acknowledged 1 alarm" in page.acknowledge("pot-high/esp32-shed")
    topic = "alerts/pot-high/esp32-shed/ack/console"
    webhook.wait_for(topic)
    assert json.loads(webhook.last(topic)) == {"by": "olga"}
    # The webhook's answer, as it would journal and publish it.
    fire(webhook, "pot-high", "esp32-shed", state="acked", value=93.5, threshold=80,
         acked_by="console:olga")
    page.wait_state("pot-high/esp32-shed", "Acknowledged")
    assert "acknowledged by console:olga" in page.cells("pot-high/esp32-shed")[7]
    screenshot(browser, "console-alarm-acknowledged")


def test_the_operator_shelves_an_alarm_and_it_leaves_the_summary(browser, console, webhook):
    fire(webhook, "pv-high", "plc", value=12.0, threshold=10)
    page = log_in(browser, console)
    assert "shelved until" in page.shelve("pv-high/plc", 45, "transmitter being recalibrated")
    topic = "alerts/pv-high/plc/shelve/console"
    webhook.wait_for(topic)
    request = json.loads(webhook.last(topic))
    assert request["action"] == "shelve" and request["by"] == "olga"
    assert request["reason"] == "transmitter being recalibrated"
    until = request["until"]
    assert time.time() * 1000 < until <= time.time() * 1000 + 45 * 60_000
    fire(webhook, "pv-high", "plc", state="shelved", shelved={
        "by": "console:olga", "reason": request["reason"], "until": until, "kind": "shelved"})
    page.wait_gone("pv-high/plc")
    cells = page.cells("pv-high/plc", table="shelved")
    assert cells[0].endswith("Shelved") and cells[3] == "console:olga"
    assert cells[4] == "transmitter being recalibrated" and cells[5].endswith("UTC")
    screenshot(browser, "console-alarm-shelved")


def test_names_from_boards_are_text_and_never_run(browser, console, webhook):
    device = "<img src=x onerror=window.pwned=1>"
    summary = "<script>window.pwned=2</script><b>bold</b>"
    page = log_in(browser, console)
    fire(webhook, "pot-high", device, summary=summary)
    cells = page.cells(f"pot-high/{device}")
    assert cells[2] == device and cells[7] == summary
    browser.refresh()  # rendered by the server this time, not the live stream
    assert page.cells(f"pot-high/{device}")[2] == device
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements("css selector", "#alarms img, #alarms b")


def test_a_forged_form_is_refused(browser, console, webhook):
    fire(webhook, "pot-high", "d")
    page = log_in(browser, console)
    page.row("pot-high/d")
    browser.execute_script(
        "for (const f of document.querySelectorAll('input[name=csrf_token]')) f.value='forged'")
    page.click("pot-high/d", "button.ack")
    assert "CSRF" in page.refusal()
    screenshot(browser, "console-refused-csrf")
    webhook.wait_for("journal/console")
    assert webhook.received("alerts/pot-high/d/ack/console") == []


def test_a_viewer_cannot_acknowledge(browser, console, webhook):
    fire(webhook, "pot-high", "d")
    page = log_in(browser, console, "vic")
    page.row("pot-high/d")
    assert not page.has_operator_controls()
    page.post_as_crafted_form("/alarms/ack", {"alarm": "pot-high/d"})
    assert "Your role (viewer) may not do this" in page.refusal()
    wait_until(lambda: any(json.loads(p)["kind"] == "refused"
                           for p in webhook.payloads("journal/console")), 10)
    assert webhook.received("alerts/pot-high/d/ack/console") == []


def test_an_expired_session_is_refused(browser, mosquitto, webhook):
    server = ConsoleServer(mosquitto, CONSOLE_SESSION_IDLE_S="2")
    try:
        server.start()
        fire(webhook, "pot-high", "d")
        page = log_in(browser, server)
        page.row("pot-high/d")
        logged_in = time.monotonic()
        wait_until(lambda: time.monotonic() - logged_in > 2.5, 10)  # idle past the limit
        page.click("pot-high/d", "button.ack")
        assert "Your session has expired" in page.refusal()
        browser.get(server.url + "/")
        assert "/login" in browser.current_url
        assert webhook.received("alerts/pot-high/d/ack/console") == []
    finally:
        server.close()


def test_login_page_says_wrong_password(browser, console):
    login = LoginPage(browser, console.url).open()
    login.driver.find_element("id", "username").send_keys("olga")
    login.driver.find_element("id", "password").send_keys("nope")
    login.driver.find_element("id", "login").click()
    assert "Wrong user name or password" in login.message()
    screenshot(browser, "console-login-refused")
    assert isinstance(AlarmPage(browser, console.url), AlarmPage)


def output_state(webhook, output_id, **fields):
    document = {"id": output_id, "kind": "board", "mode": "auto", "commanded": "off",
                "reported": "off", "confirmed": True, "optimistic": False, "mismatch": False,
                "available": True, "since": 1_700_000_000_000, "override": None, **fields}
    webhook.publish(f"actions/{output_id}/state", json.dumps(document), retain=True)


def test_the_operator_puts_an_output_in_hand_after_confirming(browser, console, mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["actions/+/mode/set"]) as actions:
        output_state(actions, "shed-fan")
        log_in(browser, console)
        page = OutputPage(browser, console.url).open()
        assert "AUTO" in page.cells("shed-fan")[2]
        question = page.request("shed-fan", "hand", value="on", minutes=20, reason="fan test")
        assert "Set shed-fan" in question and "hand on until" in question
        screenshot(browser, "console-output-confirm")
        assert actions.received("actions/shed-fan/mode/set") == []  # nothing before confirming
        assert "hand on until" in page.confirm()
        actions.wait_for("actions/shed-fan/mode/set")
        sent = json.loads(actions.last("actions/shed-fan/mode/set"))
        assert (sent["mode"], sent["value"], sent["by"]) == ("hand", "on", "olga")
        # The actions service's answer: hand, commanded on, the board not following yet.
        output_state(actions, "shed-fan", mode="hand", commanded="on", confirmed=False,
                     mismatch=True, override={"mode": "hand", "value": "on", "by": "olga",
                                              "until": sent["until"], "reason": "fan test"})
        page.wait_mode("shed-fan", "HAND")
        assert "MISMATCH" in page.cells("shed-fan")[5]
        screenshot(browser, "console-outputs")


def test_usable_on_a_phone(browser, console, webhook):
    fire(webhook, "pot-high", "esp32-shed", value=93.5, threshold=80, summary="Pot above 80 %")
    browser.set_window_size(390, 844)
    try:
        page = log_in(browser, console)
        row = page.row("pot-high/esp32-shed")
        assert row.find_element("css selector", "button.ack").is_displayed()
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(browser, "console-phone")
    finally:
        browser.set_window_size(1920, 1080)


def test_live_values_change_without_a_reload(browser, console, webhook):
    webhook.publish("status/esp32-shed", b"online", retain=True)
    webhook.publish("sensors/esp32-shed/pot", b"41.5")
    log_in(browser, console, "vic")
    page = ValuesPage(browser, console.url).open()
    page.wait_shown("esp32-shed", "pot", "41.5", "online")
    webhook.publish("sensors/esp32-shed/pot", b"77.25")
    webhook.publish("status/esp32-shed", b"offline", retain=True)
    page.wait_shown("esp32-shed", "pot", "77.25", "OFFLINE")
    screenshot(browser, "console-values")
