"""A Shelly Gen2+ device with switches, as its MQTT documentation describes it
(shelly-api-docs.shelly.cloud, gen2: RPC Protocol, RPC Channels, Notifications, Switch, MQTT):
request frames {"id", "src", "method", "params"} on `<prefix>/rpc`, answered on `<src>/rpc`
with {"id", "src", "dst", "result"} or {"error": {"code", "message"}}; `Switch.Set` {"id", "on"}
(result {"was_on"}), `Switch.Toggle`, `Switch.GetStatus` {"id"}; every change notified as
`NotifyStatus` on `<prefix>/events/rpc` and, with status_ntf, the whole status on
`<prefix>/status/switch:<id>`; `<prefix>/online` is true, retained, and false as its Last Will.

`python -m devstack.shelly_sim --port P --prefix shellyplus1-a8032ab12345 [--relays N]`;
standard input: `ignore`, `obey`, `switch <n> on|off`."""

import json
import sys
import time

from devstack.relay_sim import RelaySim, run_cli


class ShellySim(RelaySim):
    def __init__(self, host, port, prefix, relays=1, **options):
        self.prefix = prefix
        self.will = (f"{prefix}/online", b"false")
        self.birth = (f"{prefix}/online", b"true")
        super().__init__(host, port, relays, client_id=options.pop("client_id", prefix),
                         **options)

    def subscriptions(self):
        return [f"{self.prefix}/rpc"]

    def status(self, index):
        return {"id": index, "source": "MQTT", "output": self.relays[index]}

    def on_command(self, topic, payload):
        try:
            frame = json.loads(payload)
        except (UnicodeDecodeError, ValueError):
            return
        if not isinstance(frame, dict) or "id" not in frame or not isinstance(frame.get("src"),
                                                                                str):
            return  # no source: nowhere to answer
        params = frame.get("params") if isinstance(frame.get("params"), dict) else {}
        index = params.get("id", 0)
        method = frame.get("method")
        if type(index) is not int or not 0 <= index < len(self.relays):
            return self._answer(frame, error=(-103, f"Invalid argument 'id': {index!r}"))
        if method == "Switch.Set" and isinstance(params.get("on"), bool):
            was_on = self.relays[index]
            self.set_relay(index, params["on"])
            return self._answer(frame, result={"was_on": was_on})
        if method == "Switch.Toggle":
            was_on = self.relays[index]
            self.set_relay(index, not was_on)
            return self._answer(frame, result={"was_on": was_on})
        if method == "Switch.GetStatus":
            return self._answer(frame, result=self.status(index))
        return self._answer(frame, error=(404, f"No handler for {method}"))

    def _answer(self, frame, result=None, error=None):
        answer = {"id": frame["id"], "src": self.prefix, "dst": frame["src"]}
        if error:
            answer["error"] = {"code": error[0], "message": error[1]}
        else:
            answer["result"] = result
        self.client.publish(f"{frame['src']}/rpc", json.dumps(answer), qos=1)

    def switched(self, index):
        component = f"switch:{index}"
        notification = {"src": self.prefix, "dst": f"{self.prefix}/events",
                        "method": "NotifyStatus",
                        "params": {"ts": round(time.time(), 2),
                                   component: {"id": index, "output": self.relays[index]}}}
        self.client.publish(f"{self.prefix}/events/rpc", json.dumps(notification), qos=1)
        self.client.publish(f"{self.prefix}/status/{component}", json.dumps(self.status(index)),
                            qos=1)


def main():
    return run_cli(lambda a: ShellySim(a.host, a.port, a.prefix, a.relays, username=a.username,
                                       password=a.password),
                   __doc__.split("\n")[0],
                   lambda parser: parser.add_argument("--prefix", required=True))


if __name__ == "__main__":
    sys.exit(main())
