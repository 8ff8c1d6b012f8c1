"""The closed loop with an output: devstack.loop's servers and services (mosquitto, InfluxDB,
listener, webhook, sensor-sim, the Grafana stand-in) plus `python -m actions` driving one relay
that follows the pot alarm. The relay is the board's actuator-sim when `make firmware` built it,
else the Tasmota simulator (devstack/tasmota_sim.py). Used by the actions end-to-end tests, the
demo's output stage and `python -m bench actions_latency`."""

import json
import subprocess
import sys

from devstack.loop import ALERT, FIRMWARE_BUILD, Loop
from devstack.mqtt_probe import Probe
from devstack.servers import Service
from devstack.tasmota_sim import TasmotaSim
from devstack.wait import wait_until

ACTUATOR_SIM = FIRMWARE_BUILD / "actuator-sim"
OUTPUT = "shed-fan"
RELAY_DEVICE = "shed-board"
ACTUATOR_RULES = ("actuator-mismatch", "actuator-offline")


def actions_yaml(device, kind, safe_state="off", confirm_timeout_s=1.0, extra=""):
    target = (f"    device: {RELAY_DEVICE}\n    relay: 1\n" if kind == "board"
              else f"    topic: {RELAY_DEVICE}\n")
    return (f"grace_s: 10\noutputs:\n  - id: {OUTPUT}\n    kind: {kind}\n{target}"
            f"    follows: [alerts/{ALERT}/{device}]\n    safe_state: \"{safe_state}\"\n"
            f"    confirm_timeout_s: {confirm_timeout_s}\n{extra}")


def actions_service(broker, folder, actions_file_text):
    """`python -m actions` on `broker` with this actions file, its files in `folder`; ready once
    it wrote its heartbeat."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "actions.yaml").write_text(actions_file_text)
    heartbeat = folder / "actions.heartbeat"
    return Service("actions", [sys.executable, "-m", "actions"], env={
        "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
        "ACTIONS_FILE": str(folder / "actions.yaml"),
        "ACTIONS_STATE_DIR": str(folder / "actions-state"), "ACTIONS_HEARTBEAT": str(heartbeat),
        "ACTIONS_READINGS_INTERVAL_S": "1", "ACTIONS_LOG_LEVEL": "INFO"}, ready=heartbeat.exists)


class ActionsLoop(Loop):
    """`with ActionsLoop() as loop:`; `loop.actions` is the service, `loop.relay_on()` what the
    relay does, `loop.output()` its last actions/<id>/state."""

    def __init__(self, safe_state="off", confirm_timeout_s=1.0, extra_yaml="",
                 relay="auto", **options):
        options.setdefault("rules", (ALERT, *ACTUATOR_RULES))
        options.setdefault("parts", ("listener", "webhook", "sensor", "standin"))
        super().__init__(**options)
        self.kind = "board" if relay == "board" or (relay == "auto" and ACTUATOR_SIM.exists()) \
            else "tasmota"
        self.safe_state, self.confirm_timeout_s = safe_state, confirm_timeout_s
        self.extra_yaml = extra_yaml
        self.relay = self.actions = self.watch = None

    def start(self):
        super().start()
        self.watch = Probe(self.broker.host, self.broker.port,
                           ["actions/#", "journal/actions", "alerts/#", "status/#"]).start()
        if self.kind == "board":
            self.relay = self._add(Service(
                "actuator-sim", [str(ACTUATOR_SIM), *self._broker_args(), "--device-id",
                                 RELAY_DEVICE, "--relays", "1"],
                stdin=subprocess.PIPE,
                ready=lambda: self.watch.last(f"status/{RELAY_DEVICE}") == b"online"))
        else:
            self.relay = TasmotaSim(self.broker.host, self.broker.port, RELAY_DEVICE).start()
        self.actions = self._add(actions_service(self.broker, self.broker.workdir, actions_yaml(
            self.device, self.kind, self.safe_state, self.confirm_timeout_s, self.extra_yaml)))
        # Its start-up grace ends once the webhook's next heartbeat came (HEARTBEAT_S).
        wait_until(self.output, 30, message="the actions service published no state; its log:\n"
                                            + self.actions.log_tail())
        return self

    def webhook_env(self):
        # The webhook's state file in this loop's own folder, never in the working directory.
        return {**super().webhook_env(),
                "WEBHOOK_STATE_DIR": str(self.influx.workdir / "webhook-state")}

    def close(self):
        if self.watch:
            self.watch.close()
        if isinstance(self.relay, TasmotaSim):
            self.relay.close()
        super().close()

    # -- the relay ------------------------------------------------------------------------------

    def relay_on(self):
        if isinstance(self.relay, TasmotaSim):
            return self.relay.relays[0]
        lines = [line for line in self.relay.log_path.read_text(errors="replace").splitlines()
                 if line.startswith("RELAY 1 ")]
        return bool(lines) and lines[-1] == "RELAY 1 on"

    def relay_ignores(self, ignore=True):
        """Tell the relay to stop (or resume) obeying commands."""
        word = "ignore" if ignore else "obey"
        if isinstance(self.relay, TasmotaSim):
            self.relay.stdin_command(word)
        else:
            self.relay.process.stdin.write(f"{word}\n".encode())
            self.relay.process.stdin.flush()

    def output(self):
        payload = self.watch.last(f"actions/{OUTPUT}/state")
        return json.loads(payload) if payload else None

    def wait_output(self, timeout=60, **expected):
        def matches():
            state = self.output()
            return state if state and all(state.get(k) == v for k, v in expected.items()) else None
        return wait_until(matches, timeout, message=f"{OUTPUT} never had {expected}: "
                                                    f"{self.output()}; the service's log:\n"
                                                    f"{self.actions.log_tail()}")

    def alarm_state(self, alert, device):
        """The annunciator state the webhook published for alerts/<alert>/<device>."""
        payload = self.watch.last(f"alerts/{alert}/{device}/annunciator")
        return payload.decode() if payload else None
