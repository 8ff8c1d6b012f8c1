"""The console with the real webhook and indicator-sim: Grafana's notification fires an alarm,
the operator sees it in the browser and acknowledges it there, the webhook journals the
acknowledgement as `console:<operator>`, and the indicator's LED goes from flashing to steady."""

import json
import shutil

import pytest

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import Service
from devstack.wait import wait_until
from tests.support.browser import screenshot, start_chromium
from tests.support.ci import missing
from tests.support.console import PASSWORDS, ConsoleServer
from tests.support.console_pages import LoginPage
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
            page.row("pot-high/esp32-e2e", table="shelved").find_element(
                "css selector", "button.unshelve").click()
            browser.switch_to.alert.accept()  # the confirmation step
            page.wait_state("pot-high/esp32-e2e", "Unacknowledged")
            probe.wait_for(annunciator, "unacked")
    finally:
        console.close()
