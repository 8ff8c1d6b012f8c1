"""One class per kind of output, each speaking its device's own MQTT protocol behind one
interface: `command(value)` and `query()` return the messages to publish, `reported(topic,
payload)` and `available(topic, payload)` read what the device says (None: not about this
output, or not understood), `subscriptions()` lists what to follow, `command_topics()` what the
broker must let the service write.

Values are `on`, `off` or a number (setpoint outputs); a reported number equal to the output's
on_value / off_value is read as `on` / `off`.
"""

import json
import math
from typing import NamedTuple

from actions.rules import OFF, ON, UNKNOWN


class Message(NamedTuple):
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def _text(payload):
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None


def _json(payload):
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _number(value):
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class Kind:
    """What every kind shares: its output's config and the broker's topic roots."""

    def __init__(self, output, mqtt):
        self.output = output
        self.options = output.options
        self.mqtt = mqtt

    def subscriptions(self):
        raise NotImplementedError

    def command_topics(self):
        raise NotImplementedError

    def command(self, value):
        raise NotImplementedError

    def query(self):
        """Messages that make the device say its state (at start-up); none by default."""
        return []

    def reported(self, topic, payload):
        raise NotImplementedError

    def available(self, topic, payload):
        return None

    def _status_available(self, topic, payload, name):
        if topic == f"{self.mqtt.status_root}/{name}":
            text = _text(payload)
            return text == "online" if text in ("online", "offline") else None
        return None


class Board(Kind):
    """The project's actuator board: actuators/<device>/<relay>/set and .../state (on / off),
    availability on status/<device>."""

    @property
    def _base(self):
        return f"actuators/{self.options['device']}/{self.options.get('relay', 1)}"

    def subscriptions(self):
        return [f"{self._base}/state", f"{self.mqtt.status_root}/{self.options['device']}"]

    def command_topics(self):
        return [f"{self._base}/set"]

    def command(self, value):
        return [Message(f"{self._base}/set", value.encode())]

    def reported(self, topic, payload):
        if topic == f"{self._base}/state":
            text = _text(payload)
            return text if text in (ON, OFF) else UNKNOWN
        return None

    def available(self, topic, payload):
        return self._status_available(topic, payload, self.options["device"])


class Tasmota(Kind):
    """Tasmota: cmnd/<topic>/POWER<n> ON / OFF (empty asks), stat/<topic>/POWER<n>,
    stat/<topic>/RESULT and tele/<topic>/STATE {"POWER<n>": "ON"}, tele/<topic>/LWT Online /
    Offline. A one-relay device says POWER rather than POWER1: both are read for relay 1."""

    @property
    def _names(self):
        relay = self.options.get("relay", 1)
        return (f"POWER{relay}", "POWER") if relay == 1 else (f"POWER{relay}",)

    def _topic(self, prefix, suffix):
        return f"{prefix}/{self.options['topic']}/{suffix}"

    def subscriptions(self):
        return ([self._topic("stat", name) for name in self._names]
                + [self._topic("stat", "RESULT"), self._topic("tele", "STATE"),
                   self._topic("tele", "LWT")])

    def command_topics(self):
        return [self._topic("cmnd", self._names[0])]

    def command(self, value):
        return [Message(self._topic("cmnd", self._names[0]), value.upper().encode())]

    def query(self):
        return [Message(self._topic("cmnd", self._names[0]), b"")]

    @staticmethod
    def _power(text):
        return {"ON": ON, "OFF": OFF, "1": ON, "0": OFF}.get((text or "").upper())

    def reported(self, topic, payload):
        if topic in (self._topic("stat", name) for name in self._names):
            return self._power(_text(payload)) or UNKNOWN
        if topic in (self._topic("stat", "RESULT"), self._topic("tele", "STATE")):
            document = _json(payload)
            if isinstance(document, dict):
                for name in self._names:
                    if isinstance(document.get(name), str):
                        return self._power(document[name]) or UNKNOWN
        return None

    def available(self, topic, payload):
        if topic == self._topic("tele", "LWT"):
            return _text(payload) == "Online"
        return None


class Shelly(Kind):
    """Shelly Gen2 and later over MQTT: RPC `Switch.Set` / `Switch.GetStatus` on <prefix>/rpc
    (answers on <our client id>/rpc), status in NotifyStatus on <prefix>/events/rpc and in
    <prefix>/status/switch:<id>, availability <prefix>/online (true / false)."""

    def __init__(self, output, mqtt):
        super().__init__(output, mqtt)
        self._request = 0

    @property
    def _component(self):
        return f"switch:{self.options.get('switch', 0)}"

    def _rpc(self, method, params):
        self._request += 1
        frame = {"id": f"{self.output.id}:{self._request}", "src": self.mqtt.client_id,
                 "method": method, "params": params}
        return Message(f"{self.options['prefix']}/rpc", json.dumps(frame).encode())

    def subscriptions(self):
        prefix = self.options["prefix"]
        return [f"{prefix}/events/rpc", f"{prefix}/status/{self._component}", f"{prefix}/online",
                f"{self.mqtt.client_id}/rpc"]

    def command_topics(self):
        return [f"{self.options['prefix']}/rpc"]

    def command(self, value):
        return [self._rpc("Switch.Set", {"id": self.options.get("switch", 0), "on": value == ON})]

    def query(self):
        return [self._rpc("Switch.GetStatus", {"id": self.options.get("switch", 0)})]

    @staticmethod
    def _output(status):
        if isinstance(status, dict) and isinstance(status.get("output"), bool):
            return ON if status["output"] else OFF
        return None

    def reported(self, topic, payload):
        prefix = self.options["prefix"]
        if topic == f"{prefix}/status/{self._component}":
            return self._output(_json(payload)) or UNKNOWN
        document = _json(payload)
        if not isinstance(document, dict):
            return None
        if topic == f"{prefix}/events/rpc" and document.get("method") == "NotifyStatus":
            params = document.get("params")
            if isinstance(params, dict):
                return self._output(params.get(self._component))
        if topic == f"{self.mqtt.client_id}/rpc":
            request = str(document.get("id", ""))
            if request.startswith(f"{self.output.id}:") and "result" in document:
                return self._output(document["result"])
        return None

    def available(self, topic, payload):
        if topic == f"{self.options['prefix']}/online":
            return _text(payload) == "true"
        return None


class GenericMqtt(Kind):
    """A device with a command topic and a payload (`payload_on` / `payload_off`, or
    `command_template` with {value}), and optionally a state topic read through `value_path`
    (dotted keys into JSON) and an availability topic. With on_value / off_value / min / max it
    is a setpoint: numbers, clamped to [min, max]."""

    def subscriptions(self):
        return [t for t in (self.options.get("state_topic"),
                            self.options.get("availability_topic")) if t]

    def command_topics(self):
        return [self.options["command_topic"]]

    def _value_out(self, value):
        if self.output.numeric:
            number = self.options["on_value"] if value == ON else (
                self.options["off_value"] if value == OFF else value)
            return f"{self.output.clamp(float(number)):g}"
        return self.options.get(f"payload_{value}", value)

    def command(self, value):
        text = self._value_out(value)
        template = self.options.get("command_template")
        payload = template.replace("{value}", text) if template else text
        return [Message(self.options["command_topic"], payload.encode())]

    def reported(self, topic, payload):
        if topic != self.options.get("state_topic"):
            return None
        path = self.options.get("value_path")
        if path:
            value = _json(payload)
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
        else:
            value = _text(payload)
        if self.output.numeric:
            number = _number(value)
            return UNKNOWN if number is None else self.output.normalize(number)
        if isinstance(value, bool):
            return ON if value else OFF
        value = str(value) if value is not None else None
        if value == str(self.options.get("state_on", self.options.get("payload_on", ON))):
            return ON
        if value == str(self.options.get("state_off", self.options.get("payload_off", OFF))):
            return OFF
        return UNKNOWN

    def available(self, topic, payload):
        if topic == self.options.get("availability_topic"):
            text = _text(payload)
            if text == self.options.get("payload_available", "online"):
                return True
            if text == self.options.get("payload_not_available", "offline"):
                return False
        return None


class OpcUa(Kind):
    """A writable OPC UA node through the bridge: the number goes to
    opcua/<bridge>/write/<device>/<measurement> (the bridge clamps too); the node's reading on
    sensors/<device>/<measurement> confirms it; status/<bridge> says whether the bridge is up."""

    @property
    def _bridge(self):
        return self.options.get("bridge", "opcua-bridge")

    @property
    def _reading_topic(self):
        return f"{self.mqtt.sensors_root}/{self.options['device']}/{self.options['measurement']}"

    def subscriptions(self):
        return [self._reading_topic, f"{self.mqtt.status_root}/{self._bridge}"]

    def command_topics(self):
        return [f"opcua/{self._bridge}/write/{self.options['device']}/"
                f"{self.options['measurement']}"]

    def command(self, value):
        number = self.options["on_value"] if value == ON else (
            self.options["off_value"] if value == OFF else value)
        return [Message(self.command_topics()[0], f"{self.output.clamp(float(number)):g}".encode())]

    def reported(self, topic, payload):
        if topic != self._reading_topic:
            return None
        document = _json(payload)
        value = document.get("value") if isinstance(document, dict) else document
        number = _number(value)
        return UNKNOWN if number is None else self.output.normalize(number)

    def available(self, topic, payload):
        return self._status_available(topic, payload, self._bridge)


KINDS = {"board": Board, "tasmota": Tasmota, "shelly": Shelly, "mqtt": GenericMqtt,
         "opcua": OpcUa}


def make_kind(output, mqtt):
    return KINDS[output.kind](output, mqtt)
