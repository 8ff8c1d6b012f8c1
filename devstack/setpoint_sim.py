"""A generic MQTT command device, like a high-voltage supply's channel: a number on
`<root>/cmd/setv/<ch>` sets the channel's voltage (clamped to its own limit) and the device
publishes `<root>/state/<ch>` as JSON {"vset": <volts>, "on": true}, retained; `<root>/online`
is online, retained, and offline as its Last Will. Garbage commands are ignored.

`python -m devstack.setpoint_sim --port P [--root /hv] [--channel 3]`; standard input:
`ignore`, `obey`."""

import json
import math
import sys

from devstack.relay_sim import RelaySim, run_cli

LIMIT_V = 3000.0


class SetpointSim(RelaySim):
    def __init__(self, host, port, root="/hv", channel=3, **options):
        self.root, self.channel = root, channel
        self.will = (f"{root}/online", b"offline")
        self.birth = (f"{root}/online", b"online")
        self.vset = 0.0
        super().__init__(host, port, 1, **options)

    def subscriptions(self):
        return [f"{self.root}/cmd/setv/{self.channel}"]

    def on_command(self, topic, payload):
        try:
            value = float(payload)
        except ValueError:
            return
        if math.isfinite(value):
            self.vset = min(max(value, 0.0), LIMIT_V)
            self.changes += 1
            if self.echo:
                print(f"VSET {self.vset:g}", flush=True)
            self.switched(0)

    def switched(self, index):
        self.client.publish(f"{self.root}/state/{self.channel}",
                            json.dumps({"vset": self.vset, "on": self.vset > 0}), qos=1,
                            retain=True)


def main():
    def extra(parser):
        parser.add_argument("--root", default="/hv")
        parser.add_argument("--channel", type=int, default=3)
    return run_cli(lambda a: SetpointSim(a.host, a.port, a.root, a.channel,
                                         username=a.username, password=a.password),
                   __doc__.split("\n")[0], extra)


if __name__ == "__main__":
    sys.exit(main())
