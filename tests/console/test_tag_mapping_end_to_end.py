"""Tag mapping end to end: an engineer maps a variable of the test OPC UA server in the browser,
the console writes the nodes file, the running bridge follows it without a restart, and the
variable's readings arrive in InfluxDB through the listener."""

import shutil
import sys

import pytest

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import OpcUaServer, Service
from devstack.wait import wait_until
from tests.support.browser import screenshot, start_chromium
from tests.support.console import PASSWORDS, ConsoleServer
from tests.support.console_pages import LoginPage, TagPage
from tests.support.influx import count
from tests.support.opcua import SIM_URI
from tests.support.servers import starter

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def plc():
    servers = starter(OpcUaServer)
    start = next(servers)
    yield start(security="none")
    next(servers, None)


@pytest.fixture
def browser():
    driver, profile = start_chromium()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_a_tag_mapped_in_the_browser_is_stored(mosquitto, plc, listener_factory, db, browser,
                                              tmp_path):
    nodes = tmp_path / "opcua-nodes.yaml"
    nodes.write_text(f'nodes:\n  - node: "{SIM_URI}Ramp1"\n    device: sim\n'
                     "    measurement: ramp1\n")
    listener_factory()
    with Probe(mosquitto.host, mosquitto.port, ["status/opcua-bridge"]) as status:
        bridge = Service("opcua-bridge", [sys.executable, "-m", "opcua_bridge"], env={
            "PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": plc.endpoint, "OPCUA_NODES": str(nodes),
            "OPCUA_HEARTBEAT": str(tmp_path / "heartbeat"), "MQTT_HOST": mosquitto.host,
            "MQTT_PORT": str(mosquitto.port)},
            ready=lambda: b"online" in status.payloads("status/opcua-bridge"),
            workdir=tmp_path / "bridge")
        console = ConsoleServer(mosquitto, OPCUA_ENDPOINT=plc.endpoint, OPCUA_NODES=str(nodes))
        try:
            bridge.start()
            console.start()
            wait_until(lambda: count(db, "ramp1") > 0, 30, message="the bridge stores nothing")
            LoginPage(browser, console.url).open().login("eve", PASSWORDS["eve"][1])
            message = TagPage(browser, console.url).search("Sine1").map(
                f"{SIM_URI}Sine1", "reading", "sim", "sine1", "0.01")
            assert "Saved" in message
            screenshot(browser, "console-tag-mapping")
            assert nodes.read_text().startswith("# Managed from the console")
            wait_until(lambda: count(db, "sine1") > 0, 30,
                       message=f"no sine1 readings stored; bridge log:\n{bridge.log_tail()}")
        finally:
            console.close()
            bridge.close()
