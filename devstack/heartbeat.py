"""A service's liveness as boards and followers see it (CONTRACTS.md, "Liveness"): `online`
retained at QoS 1 on its status topic, repeated as a heartbeat. For tests and benchmarks that run
the indicator or actuator simulators without the real webhook or actions service."""

import threading
import uuid

import paho.mqtt.client as mqtt


class Heartbeat:
    """The webhook's liveness as the boards follow it (CONTRACTS.md): `online` retained at QoS 1
    on its status topic, again every `period_s` (the webhook's is 5 s; 1 s here keeps tests
    short). stop() ends it without `offline`, as a process that froze or lost its power."""

    def __init__(self, broker, topic="status/webhook", period_s=1.0):
        self.topic, self.period_s = topic, period_s
        self.stopped = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"heartbeat-{uuid.uuid4().hex[:6]}")
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.connect_async(broker.host, broker.port, keepalive=60)  # the broker may be down
        self.client.loop_start()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            if not self.client.is_connected():
                self.stopped.wait(0.05)
                continue
            self.client.publish(self.topic, "online", qos=1, retain=True)
            self.stopped.wait(self.period_s)

    def stop(self):
        if not self.stopped.is_set():
            self.stopped.set()
            self.thread.join(10)
            self.client.disconnect()
            self.client.loop_stop()


class AlarmSource:
    """What a follower of the webhook (the actions service, the console) needs of it, for tests
    about that follower alone: a live `online` on `status/webhook` every `period_s`, and the
    retained alert topics `set()` publishes. `die()` says `offline`, as its Last Will would."""

    def __init__(self, broker, period_s=1.0):
        from devstack.mqtt_probe import Probe

        self.period_s = period_s
        self.probe = Probe(broker.host, broker.port).start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.is_set():
            try:
                self.probe.publish("status/webhook", b"online", retain=True, timeout=2)
            except (RuntimeError, ValueError, TimeoutError):
                pass  # the broker is restarting: the next beat goes out once it is back
            self._stop.wait(self.period_s)

    def set(self, topic, payload):
        self.probe.publish(topic, payload, retain=True)

    def die(self):
        self._stop.set()
        self._thread.join()
        self.probe.publish("status/webhook", b"offline", retain=True)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.probe.close()
