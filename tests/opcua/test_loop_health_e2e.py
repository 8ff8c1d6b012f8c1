"""End to end: the OPC UA test server's five health loops through the bridge (figures), the
listener (InfluxDB), the Grafana stand-in evaluating the provisioned "Loop oscillating" rule
(paused as shipped; named with --rule, as a user unpauses it) and the webhook: the rule fires
for the oscillating loop only."""

import sys

import pytest

from devstack.loop import Loop
from devstack.paths import ROOT
from devstack.servers import OpcUaServer, Service
from devstack.wait import wait_until
from tests.opcua.test_loop_health_server import MODES
from tests.support.opcua import PLANT

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
RULE = "loop-oscillating"
LOOPS = [mode.lower() for mode in MODES]
# A 40 s window: about 12 half-cycles for the oscillating loop, at most 5 for a loop whose
# setpoint steps every 10 s; the rule fires at 10.
NODES = "publishing_interval_ms: 100\nhealth_interval_ms: 500\nloops:\n" + "\n".join(
    f'  - {{id: {mode.lower()}, pv: "{PLANT}{mode}.PV", sp: "{PLANT}{mode}.SP", '
    f'out: "{PLANT}{mode}.OUT", mode: "{PLANT}{mode}.MANUAL", window_s: 40, osc_period_s: 4}}'
    for mode in MODES) + "\n"


class PlantHealthLoop(Loop):
    def __init__(self, workdir):
        super().__init__(evaluation_interval=1.0, window=3.0, rules=(RULE,),
                         parts={"listener", "webhook", "standin"})
        self.workdir = workdir

    def webhook_env(self):
        return {**super().webhook_env(), "WEBHOOK_KNOWN_ALERTS": "Loop oscillating"}

    def start(self):
        super().start()
        opcua = self._add(OpcUaServer(security="none", workdir=self.workdir / "opcua"))
        nodes = self.workdir / "nodes.yaml"
        nodes.write_text(NODES)
        self._add(attribute="bridge", part=Service(
            "opcua-bridge", [sys.executable, "-m", "opcua_bridge"],
            workdir=self.workdir / "bridge",
            env={"PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": opcua.endpoint,
                 "OPCUA_NODES": str(nodes), "OPCUA_HEARTBEAT": str(self.workdir / "heartbeat"),
                 **{k: v for k, v in self.listener_env().items() if k.startswith("MQTT_")}},
            ready=lambda: self.probe.last("status/opcua-bridge") == b"online"))
        return self


def test_loop_oscillating_fires_for_the_oscillating_loop_only(tmp_path):
    with PlantHealthLoop(tmp_path) as loop:
        def topic(name):
            return f"alerts/{RULE}/{name}"

        wait_until(lambda: loop.probe.last(topic("oscillating")) == b"1", 150,
                   message=f"osc_count: {loop.probe.payloads('sensors/oscillating/osc_count')[-5:]}"
                           f"\n{loop.bridge.log_tail(20)}")
        # Ten more seconds of evaluations with every window full: no other loop fires.
        seen = {name: len(loop.probe.payloads(f"sensors/{name}/osc_count")) for name in LOOPS}
        wait_until(lambda: all(len(loop.probe.payloads(f"sensors/{name}/osc_count")) > n + 20
                               for name, n in seen.items()), 60)
        others = {name: loop.probe.payloads(topic(name)) for name in LOOPS if name != "oscillating"}
        assert all(b"1" not in payloads for payloads in others.values()), others
        assert loop.probe.last(topic("oscillating")) == b"1"
