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
