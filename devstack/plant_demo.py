"""`python -m devstack.plant_demo`: the PID loop TIC101 of the OPC UA test server through the
whole loop, no PLC, boards or Docker.

The OPC UA test server simulates TIC101 (a first-order process under a PI controller); the
bridge subscribes to its PV, SP and OUT; the listener stores them; the Grafana stand-in evaluates
the provisioned "loop deviation" rule; the webhook publishes `alerts/<rule>/tic101`, which an
indicator simulator follows. The demo steps the setpoint and prints every LED change: red when
the deviation alarm fires, green again once the loop has settled.

Meanwhile the actions service (`python -m actions`) follows the same alarm with an OPC UA output:
while it is on, the feed flow controller's setpoint FIC102.SP goes to a safe 4 m3/h (12 when it
clears), written through the bridge (a node its nodes file declares writable, 0-20 m3/h) and
confirmed by the value read back through the bridge's subscription. The demo prints each write
and each read-back, and exits 0 when it saw the alarm go red and green and both writes confirmed.

For speed the stand-in evaluates every second over a short window (the deployed rule: 30 s).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.actions_loop import actions_service
from devstack.demo import LedReporter, run_to_the_end, say
from devstack.loop import FIRMWARE_BUILD, ROOT, Loop
from devstack.mqtt_probe import Probe
from devstack.servers import OpcUaServer, Service
from devstack.wait import wait_until

LOOP_ID = "tic101"
RULE = "loop-deviation"   # the uid of the provisioned rule (grafana/provisioning/alerting)
STEP = (50.0, 70.0)     # setpoint before and after the step, in %
ALERTING = ROOT / "grafana" / "provisioning" / "alerting"
PLANT = "nsu=urn:example:plant;s=Plant.TIC101."
FLOW = "nsu=urn:example:plant;s=Plant.FIC102."
FEED = {"off": 12.0, "on": 4.0}  # FIC102's setpoint in m3/h: normal, and while TIC101 deviates
OUTPUT = "fic102-safe-feed"
WRITE_TOPIC = "opcua/opcua-bridge/write/fic102/sp"
READING_TOPIC = "sensors/fic102/sp"
NODES = f"""publishing_interval_ms: 200
sampling_interval_ms: 100
republish_interval_ms: 10000
loops:
  - {{id: {LOOP_ID}, pv: "{PLANT}PV", out: "{PLANT}OUT",
     sp: {{node: "{PLANT}SP", writable: true, min: 0, max: 100}}}}
nodes:
  - {{node: "{FLOW}SP", device: fic102, measurement: sp, writable: true, min: 0, max: 20}}
  - {{node: "{FLOW}PV", device: fic102, measurement: pv}}
"""


def actions_file(alert):
    return f"""grace_s: 15
outputs:
  - id: {OUTPUT}
    kind: opcua
    device: fic102
    measurement: sp
    on_value: {FEED["on"]:g}
    off_value: {FEED["off"]:g}
    min: 0
    max: 20
    tolerance: 0.01
    follows: [alerts/{alert}/{LOOP_ID}]
    safe_state: hold
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
        self.opcua = self.bridge = self.actions = self.watch = None

    def webhook_env(self):
        return {**super().webhook_env(), "WEBHOOK_KNOWN_ALERTS": self.alert}

    def start(self):
        super().start()
        self.opcua = self._add(OpcUaServer(security="none", workdir=self.workdir / "opcua"))
        # The actions service before the bridge, so it sees FIC102.SP's first reading; it adopts
        # what it reads (no write at start-up). Its grace outlasts the bridge's republish.
        self.watch = Probe(self.broker.host, self.broker.port,
                           [f"actions/{OUTPUT}/state", WRITE_TOPIC]).start()
        self.actions = self._add(actions_service(self.broker, self.workdir / "actions",
                                                 actions_file(self.alert)))
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

    def close(self):
        if self.watch:
            self.watch.close()
        super().close()

    def set_setpoint(self, value):
        self.opcua.send(f"set SP {value}")

    def output(self):
        payload = self.watch.last(f"actions/{OUTPUT}/state")
        return json.loads(payload) if payload else None

    def writes(self):
        return [float(payload) for payload in self.watch.payloads(WRITE_TOPIC)]

    def feed_setpoint(self):
        """FIC102.SP as the bridge last read it (m3/h), or None."""
        payload = self.probe.last(READING_TOPIC)
        if payload is None:
            return None
        document = json.loads(payload)
        return float(document["value"] if isinstance(document, dict) else document)

    def confirmed_feed(self):
        """`on` or `off` once the actions service confirmed it and the read-back shows it."""
        output, read_back = self.output(), self.feed_setpoint()
        if output and output["confirmed"] and output["commanded"] in FEED \
                and read_back is not None and abs(read_back - FEED[output["commanded"]]) < 0.01:
            return output["commanded"]
        return None

    def wait_feed(self, value, timeout):
        """Until the output is `value` (on / off), confirmed and read back."""
        wait_until(lambda: self.confirmed_feed() == value, timeout,
                   message=f"FIC102.SP was not confirmed at {FEED[value]:g} m3/h: "
                           f"{self.output()}; the actions service's log:\n"
                           f"{self.actions.log_tail()}")


class StepReporter(LedReporter):
    """Prints every new LED line, OPC UA write and confirmed read-back with the time since the
    setpoint step."""

    def __init__(self, loop):
        super().__init__(loop)
        self.writes_shown = 0

    def when(self):
        return "at start-up" if self.moved_at is None else \
            f"{time.monotonic() - self.moved_at:6.2f} s after the setpoint step"

    def flush(self):
        shown = self.loop.leds()  # read once: a line that comes in meanwhile waits for the next
        for colour in shown[self.seen:]:
            say(f"  LED {colour:<15} {self.when()}")
        self.seen = len(shown)
        writes = self.loop.writes()
        for value in writes[self.writes_shown:]:
            say(f"  OPC UA write FIC102.SP {value:g} m3/h (commanded) {self.when()}")
        self.writes_shown = len(writes)
        confirmed = self.loop.confirmed_feed()
        if confirmed and confirmed != self.output_shown:
            say(f"  OPC UA read back FIC102.SP {FEED[confirmed]:g} m3/h: {confirmed} confirmed "
                f"{self.when()}")
            self.output_shown = confirmed


def run(args):
    alert = deviation_alert()
    if alert is None:
        say(f"no rule {RULE!r} in {ALERTING}: the PID-loop alert rules are not provisioned")
        return 1
    say(f"starting mosquitto, InfluxDB, listener, webhook, the Grafana stand-in (every 1 s over "
        f"{args.window:g} s), the OPC UA test server, the bridge, indicator-sim following "
        f"alerts/{alert}/{LOOP_ID} and the actions service writing FIC102.SP on that alarm...")
    with tempfile.TemporaryDirectory(prefix="plant-demo-") as workdir, \
            PlantLoop(alert, workdir, args.window) as loop:
        reporter = StepReporter(loop)
        reporter.start()
        try:
            say(f"TIC101 steady at SP {STEP[0]:g} %: waiting for its readings (the LED shows "
                "unknown until the webhook has published a state for this loop)")
            wait_until(lambda: loop.probe.last(f"sensors/{LOOP_ID}/pv") is not None, 30)
            loop.wait_feed("off", args.timeout)
            reporter.moved()
            say(f"stage: setpoint step {STEP[0]:g} -> {STEP[1]:g} %, expecting the deviation "
                f"alarm (red, flashing until acknowledged) and the feed FIC102.SP written to "
                f"{FEED['on']:g} m3/h, confirmed when read back")
            loop.set_setpoint(STEP[1])
            loop.wait_for_colour("red", args.timeout)
            loop.wait_feed("on", args.timeout)
            with reporter.lock:
                reporter.flush()
            say("stage: the PI controller brings PV to the new setpoint, expecting green "
                "(flashing: the alarm cleared before anyone acknowledged it) and the feed back "
                f"to {FEED['off']:g} m3/h")
            loop.wait_for_colour("green", args.timeout)
            loop.wait_feed("off", args.timeout)
            with reporter.lock:
                reporter.flush()
            say("the deviation alarm went red, then green once the loop settled, and the feed "
                "setpoint followed it, each write confirmed by the value read back; an operator "
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
