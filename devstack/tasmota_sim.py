"""A Tasmota device, as its MQTT documentation describes it (tasmota.github.io/docs/MQTT and
Commands): `cmnd/<topic>/POWER<n>` takes ON, OFF, TOGGLE (or 1, 0, true, false, any case; an
empty payload asks), and the device answers `stat/<topic>/RESULT` {"POWER<n>":"ON"} and
`stat/<topic>/POWER<n>` ON; a one-relay device says POWER instead of POWER1 (and obeys both);
`tele/<topic>/LWT` is Online, retained, and Offline as its Last Will.

`python -m devstack.tasmota_sim --port P --topic tasmota_1A2B3C [--relays N]`; standard input:
`ignore`, `obey`, `switch <n> on|off`."""

import json
import sys

from devstack.relay_sim import RelaySim, run_cli

_WORDS = {"on": True, "1": True, "true": True, "off": False, "0": False, "false": False}


class TasmotaSim(RelaySim):
    def __init__(self, host, port, topic, relays=1, **options):
        self.topic = topic
        self.will = (f"tele/{topic}/LWT", b"Offline")
        self.birth = (f"tele/{topic}/LWT", b"Online")
        super().__init__(host, port, relays, client_id=options.pop("client_id", topic),
                         **options)

    def _name(self, index):
        return "POWER" if len(self.relays) == 1 else f"POWER{index + 1}"

    def subscriptions(self):
        return [f"cmnd/{self.topic}/#"]

    def on_command(self, topic, payload):
        command = topic.rsplit("/", 1)[-1].upper()
        if not command.startswith("POWER"):
            return
        number = command[len("POWER"):] or "1"
        if not number.isdigit() or not 1 <= int(number) <= len(self.relays):
            return
        index = int(number) - 1
        word = payload.decode("utf-8", "replace").strip().lower()
        if word == "toggle":
            self.set_relay(index, not self.relays[index])
        elif word in _WORDS:
            self.set_relay(index, _WORDS[word])
        elif word == "":
            self.switched(index)

    def switched(self, index):
        name, value = self._name(index), "ON" if self.relays[index] else "OFF"
        self.client.publish(f"stat/{self.topic}/RESULT", json.dumps({name: value}), qos=0)
        self.client.publish(f"stat/{self.topic}/{name}", value, qos=0)


def main():
    return run_cli(lambda a: TasmotaSim(a.host, a.port, a.topic, a.relays, username=a.username,
                                        password=a.password),
                   __doc__.split("\n")[0],
                   lambda parser: parser.add_argument("--topic", required=True))


if __name__ == "__main__":
    sys.exit(main())
