"""Actions latency: from a change of a followed alert topic to the command published, and to the
output confirmed (the device's state back, `actions/<id>/state` confirmed).

Real mosquitto on loopback with the shipped queueing settings (set_tcp_nodelay included), the
real `python -m actions` and a relay: actuator-sim (when `make firmware` built it) and the
Tasmota simulator (devstack/tasmota_sim.py). Every hop sets TCP_NODELAY: without it on
actuator-sim's link its state, written right after the PUBACK of the command, waited about 40 ms
for the broker's delayed ACK (docs/actions.md, Latency). A probe plays the
webhook: its status heartbeat and the retained alert topic, set to 1 and 0 in turn (min_on_s /
min_off_s 0). Also the actions process's CPU time per switch.

Then, as deployed: from the pot (sensor-sim) to the relay confirmed, through the listener,
InfluxDB, the Grafana stand-in with every provisioned timing (10 s rule interval and window),
the webhook and the actions service; a few transitions each way, each started at a random
phase against the evaluations (about three minutes).
"""

import json
import random
import statistics
import sys
import threading
import time

import psutil

from bench.figures import percentile, report, report_latencies
from devstack.actions_loop import ACTUATOR_SIM, RELAY_DEVICE, ActionsLoop
from devstack.loop import ALERT as LOOP_ALERT
from devstack.loop import broker_settings
from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import Mosquitto, Service
from devstack.tasmota_sim import TasmotaSim
from devstack.wait import wait_until

ROUNDS = 200
ALERT = "alerts/pot-high/bench01"
OUTPUT = "bench-relay"
TARGET_P50_MS = 20
IDLE_S = 10


class Timings:
    """Arrival times of the command and of the confirmed state, per commanded value."""

    def __init__(self, command_topic):
        self.command_topic = command_topic
        self.lock = threading.Condition()
        self.command_at = self.confirmed_at = None
        self.wanted = None

    def on_message(self, client, userdata, message):
        now = time.perf_counter()
        with self.lock:
            if message.topic == self.command_topic and message.payload:
                self.command_at = self.command_at or now
            elif message.topic == f"actions/{OUTPUT}/state":
                state = json.loads(message.payload)
                if state["commanded"] == self.wanted and state["confirmed"]:
                    self.confirmed_at = self.confirmed_at or now
            self.lock.notify_all()

    def expect(self, value):
        with self.lock:
            self.wanted, self.command_at, self.confirmed_at = value, None, None

    def wait(self, timeout=10):
        with self.lock:
            if not self.lock.wait_for(lambda: self.confirmed_at and self.command_at, timeout):
                raise TimeoutError(f"no confirmed {self.wanted} within {timeout} s")
            return self.command_at, self.confirmed_at


def main():
    """The loopback figures with each relay simulator there is, then the deployed figures."""
    for board in ([True] if ACTUATOR_SIM.exists() else []) + [False]:
        loopback(board)
    deployed()


def loopback(board):
    kind = "board" if board else "tasmota"
    print(f"actions latency: alert topic -> command -> confirmed, {ROUNDS} switches, relay "
          f"{'actuator-sim' if board else 'Tasmota simulator'} on loopback")
    with Mosquitto(config=broker_settings()) as broker:  # as deployed: set_tcp_nodelay
        folder = broker.workdir
        target = f"    device: {RELAY_DEVICE}\n" if board else f"    topic: {RELAY_DEVICE}\n"
        (folder / "actions.yaml").write_text(
            f"outputs:\n  - id: {OUTPUT}\n    kind: {kind}\n{target}    follows: [{ALERT}]\n")
        command_topic = (f"actuators/{RELAY_DEVICE}/1/set" if board
                         else f"cmnd/{RELAY_DEVICE}/POWER1")
        timings = Timings(command_topic)
        webhook = Probe(broker.host, broker.port).start()
        beating = threading.Event()

        def heartbeat():
            while not beating.wait(1.0):
                webhook.publish("status/webhook", b"online", retain=True)

        threading.Thread(target=heartbeat, daemon=True).start()
        webhook.publish(ALERT, b"0", retain=True)
        watch = Probe(broker.host, broker.port, [command_topic, f"actions/{OUTPUT}/state"])
        watch.client.on_message = timings.on_message
        watch.start()
        relay = (Service("actuator-sim", [str(ACTUATOR_SIM), "--host", broker.host, "--port",
                                          str(broker.port), "--device-id", RELAY_DEVICE])
                 if board else TasmotaSim(broker.host, broker.port, RELAY_DEVICE))
        relay.start()
        heartbeat_file = folder / "actions.heartbeat"
        actions = Service("actions", [sys.executable, "-m", "actions"], env={
            "MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "ACTIONS_FILE": str(folder / "actions.yaml"),
            "ACTIONS_STATE_DIR": str(folder / "state"), "ACTIONS_HEARTBEAT": str(heartbeat_file),
            "ACTIONS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)},
            ready=heartbeat_file.exists)
        try:
            actions.start()
            timings.expect("off")
            wait_until(lambda: timings.confirmed_at, 30, message="the output never confirmed")
            process = psutil.Process(actions.process.pid)
            idle_before = process.cpu_times()
            time.sleep(IDLE_S)  # nothing changes: the 0.1 s tick and the heartbeats only
            idle_after = process.cpu_times()
            commands, confirmations = [], []
            cpu_before = process.cpu_times()
            for i in range(ROUNDS):
                value = "on" if i % 2 == 0 else "off"
                timings.expect(value)
                start = time.perf_counter()
                webhook.publish(ALERT, b"1" if value == "on" else b"0", retain=True)
                command_at, confirmed_at = timings.wait()
                commands.append(command_at - start)
                confirmations.append(confirmed_at - start)
            cpu_after = process.cpu_times()
        finally:
            beating.set()
            actions.close()
            relay.close()
            watch.close()
            webhook.close()
    report_latencies("alert topic -> command published", commands)
    report_latencies("alert topic -> output confirmed", confirmations)
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system)
    report("actions CPU per switch", cpu / ROUNDS * 1000, "ms")
    idle = (idle_after.user + idle_after.system - idle_before.user - idle_before.system)
    report("actions CPU while idle, one output", idle / IDLE_S * 100, "% of a core")
    p50 = percentile([c * 1000 for c in confirmations], 0.5)
    print(f"  confirmed p50 {'meets' if p50 <= TARGET_P50_MS else 'MISSES'} the target "
          f"<= {TARGET_P50_MS} ms", flush=True)


DEPLOYED_TRANSITIONS = 4  # each direction
ADC_MAX = 4095


def deployed():
    print(f"pot -> relay confirmed as deployed (provisioned rule timings), "
          f"{DEPLOYED_TRANSITIONS} transitions each way")
    seconds = {"on": [], "off": []}
    with ActionsLoop(deployed_timings=True, rules=(LOOP_ALERT,)) as loop:
        loop.set_pot(0)
        loop.wait_output(120, commanded="off", confirmed=True)
        for _ in range(DEPLOYED_TRANSITIONS):
            for value, raw in (("on", ADC_MAX), ("off", 0)):
                time.sleep(random.uniform(0, 10))  # a random phase against the evaluations
                start = time.monotonic()
                loop.set_pot(raw)
                loop.wait_output(120, commanded=value, confirmed=True)
                seconds[value].append(time.monotonic() - start)
    for value, samples in seconds.items():
        report(f"pot -> relay {value} confirmed, median", statistics.median(samples), "s")
        report(f"pot -> relay {value} confirmed, worst", max(samples), "s")


if __name__ == "__main__":
    main()
