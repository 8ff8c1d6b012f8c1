"""`python -m devstack.plant_demo`: the PID loop TIC101 of the OPC UA test server through the
whole loop, no PLC, boards or Docker.

The OPC UA test server simulates TIC101 (a first-order process under a PI controller); the
bridge subscribes to its PV, SP and OUT; the listener stores them; the Grafana stand-in evaluates
the provisioned "loop deviation" rule; the webhook publishes `alerts/<rule>/tic101`, which an
indicator simulator follows. The demo steps the setpoint and prints every LED change: red when
the deviation alarm fires, green again once the loop has settled. Exits 0 when it saw both.

For speed the stand-in evaluates every second over a short window (the deployed rule: 30 s).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.demo import LedReporter, run_to_the_end, say
from devstack.loop import FIRMWARE_BUILD, ROOT, Loop
from devstack.servers import OpcUaServer, Service
from devstack.wait import wait_until

LOOP_ID = "tic101"
RULE = "loop-deviation"   # the uid of the provisioned rule (grafana/provisioning/alerting)
STEP = (50.0, 70.0)     # setpoint before and after the step, in %
ALERTING = ROOT / "grafana" / "provisioning" / "alerting"
PLANT = "nsu=urn:example:plant;s=Plant.TIC101."
NODES = f"""publishing_interval_ms: 200
sampling_interval_ms: 100
republish_interval_ms: 10000
loops:
  - {{id: {LOOP_ID}, pv: "{PLANT}PV", out: "{PLANT}OUT",
     sp: {{node: "{PLANT}SP", writable: true, min: 0, max: 100}}}}
"""


def deviation_alert():
    """The topic form of the provisioned loop deviation rule's title (None when missing)."""
    from devstack.grafana_standin.rules import load_rules
    from webhook.notification import topic_safe

    titles = [rule.title for rule in load_rules(ALERTING) if rule.uid == RULE]
    return topic_safe(titles[0]) if titles else None


class PlantLoop(Loop):
    """The loop without the pot: the OPC UA test server and the bridge feed it instead."""

    def __init__(self, alert, workdir, window):
        super().__init__(evaluation_interval=1.0, window=window,
                         parts={"listener", "webhook", "standin"}, rules=(RULE,))
        self.alert, self.workdir = alert, Path(workdir)
        self.opcua = self.bridge = None

    def webhook_env(self):
        return {**super().webhook_env(), "WEBHOOK_KNOWN_ALERTS": self.alert}

    def start(self):
        super().start()
        self.opcua = self._add(OpcUaServer(security="none", workdir=self.workdir / "opcua"))
        nodes = self.workdir / "opcua-nodes.yaml"
        nodes.write_text(NODES)
        self._add(attribute="bridge", part=Service(
            "opcua-bridge", [sys.executable, "-m", "opcua_bridge"],
            workdir=self.workdir / "bridge",
            env={"PYTHONPATH": str(ROOT), "OPCUA_ENDPOINT": self.opcua.endpoint,
                 "OPCUA_NODES": str(nodes), "OPCUA_LOG_LEVEL": "WARNING",
                 "OPCUA_HEARTBEAT": str(self.workdir / "bridge-heartbeat"),
                 **{k: v for k, v in self.listener_env().items() if k.startswith("MQTT_")}},
            ready=lambda: self.probe.last("status/opcua-bridge") == b"online"))
        indicator = Service(
            "indicator-sim", [str(FIRMWARE_BUILD / "indicator-sim"), *self._broker_args(),
                              "--device-id", self.indicator_id,
                              "--topic", f"alerts/{self.alert}/{LOOP_ID}"],
            stdin=subprocess.PIPE, ready=lambda: self.leds())
        self.indicators[self.indicator_id] = indicator
        self._add(attribute="indicator", part=indicator)
        return self

    def set_setpoint(self, value):
        self.opcua.send(f"set SP {value}")


class StepReporter(LedReporter):
    """Prints every new LED line with the time since the setpoint step."""

    def flush(self):
        for colour in self.loop.leds()[self.seen:]:
            when = "at start-up" if self.moved_at is None else \
                f"{time.monotonic() - self.moved_at:6.2f} s after the setpoint step"
            say(f"  LED {colour:<15} {when}")
        self.seen = len(self.loop.leds())


def run(args):
    alert = deviation_alert()
    if alert is None:
        say(f"no rule {RULE!r} in {ALERTING}: the PID-loop alert rules are not provisioned")
        return 1
    say(f"starting mosquitto, InfluxDB, listener, webhook, the Grafana stand-in (every 1 s over "
        f"{args.window:g} s), the OPC UA test server, the bridge and indicator-sim following "
        f"alerts/{alert}/{LOOP_ID}...")
    with tempfile.TemporaryDirectory(prefix="plant-demo-") as workdir, \
            PlantLoop(alert, workdir, args.window) as loop:
        reporter = StepReporter(loop)
        reporter.start()
        try:
            say(f"TIC101 steady at SP {STEP[0]:g} %: waiting for its readings (the LED shows "
                "unknown until the webhook has published a state for this loop)")
            wait_until(lambda: loop.probe.last(f"sensors/{LOOP_ID}/pv") is not None, 30)
            reporter.moved()
            say(f"stage: setpoint step {STEP[0]:g} -> {STEP[1]:g} %, expecting the deviation "
                "alarm (red, flashing until acknowledged)")
            loop.set_setpoint(STEP[1])
            loop.wait_for_colour("red", args.timeout)
            with reporter.lock:
                reporter.flush()
            say("stage: the PI controller brings PV to the new setpoint, expecting green "
                "(flashing: the alarm cleared before anyone acknowledged it)")
            loop.wait_for_colour("green", args.timeout)
            with reporter.lock:
                reporter.flush()
            say("the deviation alarm went red, then green once the loop settled; an operator "
                "acknowledges the cleared alarm with the board's button or POST /ack")
        finally:
            reporter.stop.set()
            reporter.join()
    say("stopped every process")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the PID-loop demo without PLC, boards or "
                                                 "Docker.")
    parser.add_argument("--window", type=float, default=5.0,
                        help="s: the stand-in's shortest query window, the others in proportion "
                             "(deployed: the rule's own 30 s)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per stage")
    return run_to_the_end(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
