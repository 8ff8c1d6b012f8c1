"""What the simulated relay devices (devstack/tasmota_sim.py, devstack/shelly_sim.py) share: one
paho connection with the device's Last Will, relays that obey or ignore commands, one flushed
line per change on standard output (`RELAY <n> on|off`), and the standard-input commands
`ignore`, `obey` and `switch <n> on|off` (a hand at the device's own button)."""

import argparse
import socket
import sys
import threading
import uuid

import paho.mqtt.client as mqtt

from devstack.wait import wait_until


class RelaySim:
    """Subclasses say which topics to follow (`subscriptions`), the Will and birth, and how a
    message becomes relay changes (`on_command`); `switched(n)` publishes a relay's state."""

    will = None   # (topic, payload)
    birth = None  # (topic, payload), retained at connect

    def __init__(self, host, port, relays=1, username=None, password=None, client_id=None,
                 echo=False):
        self.relays = [False] * relays
        self.obey = True
        self.echo = echo
        self.lock = threading.Lock()
        self.commands = 0
        self.changes = 0  # relay switches, whoever caused them
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"sim-{uuid.uuid4().hex[:8]}")
        if username:
            self.client.username_pw_set(username, password)
        if self.will:
            self.client.will_set(self.will[0], self.will[1], qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 1)
        self.host, self.port = host, port
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self._subscribed.set()

    def start(self, timeout=10):
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        wait_until(self._subscribed.is_set, timeout, message="simulator could not subscribe")
        return self

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def subscriptions(self):
        raise NotImplementedError

    def on_command(self, topic, payload):
        raise NotImplementedError

    def switched(self, index):
        raise NotImplementedError

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            return
        # A device answers at once (paho does not set TCP_NODELAY: Nagle would hold the second
        # of two answers for the broker's delayed ACK).
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.birth:
            client.publish(self.birth[0], self.birth[1], qos=1, retain=True)
        client.subscribe([(topic, 1) for topic in self.subscriptions()])
        for index in range(len(self.relays)):
            self.switched(index)

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.commands += 1
            if self.obey:
                self.on_command(message.topic, message.payload)

    def set_relay(self, index, on):
        """Switch relay `index` (from 0) and say so; True when it changed."""
        changed = self.relays[index] != on
        self.relays[index] = on
        self.changes += changed
        if changed and self.echo:
            print(f"RELAY {index + 1} {'on' if on else 'off'}", flush=True)
        self.switched(index)
        return changed

    def stdin_command(self, line):
        words = line.split()
        with self.lock:
            if words == ["ignore"]:
                self.obey = False
            elif words == ["obey"]:
                self.obey = True
            elif len(words) == 3 and words[0] == "switch" and words[2] in ("on", "off"):
                self.set_relay(int(words[1]) - 1, words[2] == "on")
            else:
                print(f"ERROR unknown command {line.strip()!r}", flush=True)


def run_cli(make, description, extra):
    """The simulators' command line: `make(args)` builds the simulator."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--relays", type=int, default=1)
    extra(parser)
    args = parser.parse_args()
    sim = make(args)
    sim.echo = True
    sim.start()
    print("READY", flush=True)
    try:
        for line in sys.stdin:
            if line.strip():
                sim.stdin_command(line)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0
