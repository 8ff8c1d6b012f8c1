"""The console with the real services: Grafana's notification fires an alarm through the webhook,
the operator acknowledges it in the browser and indicator-sim's LED goes from flashing to steady
(the webhook journals `console:<operator>`); shelved in the browser, it leaves the annunciator;
an output put in Hand in the browser switches the relay through the actions service."""

import json
import shutil
import sys

import pytest

from devstack.heartbeat import AlarmSource
from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import Service
from devstack.tasmota_sim import TasmotaSim
from devstack.wait import wait_until
from tests.support.browser import screenshot, start_chromium
from tests.support.ci import missing
from tests.support.console import PASSWORDS, ConsoleServer
from tests.support.console_pages import LoginPage, OutputPage
from tests.support.firmware import Sim
from tests.support.webhook import grouped, http, instance

pytestmark = pytest.mark.timeout(180)
INDICATOR = ROOT / "build" / "firmware" / "indicator-sim"
JOURNAL = "alerts/_webhook/webhook/journal"


@pytest.fixture
def browser():
    driver, profile = start_chromium()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def indicator(mosquitto):
    if not INDICATOR.exists():
        missing("indicator-sim missing: run `make firmware`")
    service = Service("indicator-sim", [str(INDICATOR), "--host", mosquitto.host, "--port",
                                        str(mosquitto.port), "--device-id", "esp8266-e2e",
                                        "--topic", "alerts/pot-high/esp32-e2e"])
    service.start()
    yield Sim(service, "esp8266-e2e")
    service.close()


def test_acknowledged_in_the_browser_the_led_goes_steady(mosquitto, webhook_service, browser,
                                                         indicator):
    webhook = webhook_service(WEBHOOK_ANNUNCIATOR="isa")
    console = ConsoleServer(mosquitto)
    try:
        console.start()
        with Probe(mosquitto.host, mosquitto.port, [JOURNAL]) as journal:
            page = LoginPage(browser, console.url).open().login("olga", PASSWORDS["olga"][1])
            status, _ = http(webhook.url, "/alert", grouped(
                "Pot high", instance("Pot high", "firing", device="esp32-e2e")))
            assert status == 200
            page.wait_state("pot-high/esp32-e2e", "Unacknowledged")
            indicator.wait_for_led("red-flashing")
            page.acknowledge("pot-high/esp32-e2e")
            page.wait_state("pot-high/esp32-e2e", "Acknowledged")
            indicator.wait_for_led("red")
            screenshot(browser, "console-end-to-end-acknowledged")
            wait_until(lambda: any(json.loads(p).get("by") == "console:olga"
                                   for p in journal.payloads(JOURNAL)), 10,
                       message=f"no journal entry by console:olga: {journal.payloads(JOURNAL)}")
    finally:
        console.close()


def test_shelved_in_the_browser_it_leaves_the_annunciator(mosquitto, webhook_service, browser):
    webhook = webhook_service(WEBHOOK_ANNUNCIATOR="isa")
    console = ConsoleServer(mosquitto)
    annunciator = "alerts/pot-high/esp32-e2e/annunciator"
    try:
        console.start()
        with Probe(mosquitto.host, mosquitto.port, [annunciator]) as probe:
            page = LoginPage(browser, console.url).open().login("olga", PASSWORDS["olga"][1])
            http(webhook.url, "/alert", grouped(
                "Pot high", instance("Pot high", "firing", device="esp32-e2e")))
            page.wait_state("pot-high/esp32-e2e", "Unacknowledged")
            page.shelve("pot-high/esp32-e2e", 30, "sensor being replaced")
            page.wait_gone("pot-high/esp32-e2e")
            cells = page.cells("pot-high/esp32-e2e", table="shelved")
            assert cells[0].endswith("Shelved") and "olga" in cells[3]
            assert cells[4] == "sensor being replaced" and cells[5].endswith("UTC")
            probe.wait_for(annunciator, "shelved")
            screenshot(browser, "console-end-to-end-shelved")
            page.click("pot-high/esp32-e2e", "button.unshelve", table="shelved")
            browser.switch_to.alert.accept()  # the confirmation step
            page.wait_state("pot-high/esp32-e2e", "Unacknowledged")
            probe.wait_for(annunciator, "unacked")
    finally:
        console.close()


def test_hand_in_the_browser_the_relay_follows(mosquitto, browser, tmp_path):
    pot = "alerts/pot-high/esp32-shed"
    actions_file = tmp_path / "actions.yaml"
    actions_file.write_text("grace_s: 5\noutputs:\n  - id: fan\n    kind: tasmota\n"
                            f"    topic: plug\n    follows: [{pot}]\n    confirm_timeout_s: 1\n")
    heartbeat = tmp_path / "actions.heartbeat"
    env = {"MQTT_HOST": mosquitto.host, "MQTT_PORT": str(mosquitto.port),
           "ACTIONS_FILE": str(actions_file), "ACTIONS_STATE_DIR": str(tmp_path / "state"),
           "ACTIONS_HEARTBEAT": str(heartbeat), "PYTHONPATH": str(ROOT)}
    actions = Service("actions", [sys.executable, "-m", "actions"], env=env,
                      ready=heartbeat.exists, workdir=tmp_path / "actions")
    source = AlarmSource(mosquitto)
    console = ConsoleServer(mosquitto)
    try:
        with TasmotaSim(mosquitto.host, mosquitto.port, "plug") as relay:
            source.set(pot, b"0")
            actions.start()
            console.start()
            LoginPage(browser, console.url).open().login("olga", PASSWORDS["olga"][1])
            page = OutputPage(browser, console.url).open()
            wait_until(lambda: "confirmed" in page.cells("fan")[5], 20)
            assert "AUTO" in page.cells("fan")[2] and not relay.relays[0]
            page.request("fan", "hand", value="on", minutes=10, reason="fan test")
            page.confirm()
            wait_until(lambda: relay.relays[0], 20, message="the relay never switched on")
            page.wait_mode("fan", "HAND")
            wait_until(lambda: "confirmed" in page.cells("fan")[5], 20)
            screenshot(browser, "console-end-to-end-hand")
            page.request("fan", "auto")
            page.confirm()
            wait_until(lambda: not relay.relays[0], 20, message="the relay stayed on in auto")
            page.wait_mode("fan", "AUTO")
    finally:
        console.close()
        actions.close()
        source.close()
