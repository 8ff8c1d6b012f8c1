"""Issue 19 item 4: with its default configuration ($SYS statistics on), the listener loses no
QoS 1 reading on a kill -9 in mid-stream nor on a broker restart with readings queued for it.

mosquitto 2.0.11 drops messages at the in-flight boundary when it redelivers a persistent
session that mixes QoS 0 messages (the $SYS counters) with QoS 1 ones; the listener therefore
reads the counters on a connection of their own."""

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from devstack.wait import wait_until
from tests.support.influx import count, latest_stats

READINGS = 20_000
DEVICES = 4
TS = int(time.time() * 1000) - 3_600_000

# The deployed window and queue (mosquitto/config/mosquitto.conf), $SYS counters every second.
DEPLOYED_BROKER = """\
max_queued_messages 100000
max_queued_bytes 20000000
queue_qos0_messages true
max_inflight_messages 1000
sys_interval 1
"""


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=DEPLOYED_BROKER)


@pytest.fixture
def deployed_listener(listener_factory):
    def start():
        return listener_factory(LISTENER_MAX_UNACKED="1000", LISTENER_BROKER_STATS="true",
                                LISTENER_FLUSH_INTERVAL="0.5")
    return start


class Stream:
    """READINGS QoS 1 readings (distinct ts per device, so a redelivery overwrites itself),
    published from a thread of their own as fast as the broker takes them."""

    def __init__(self, broker):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="loss-publisher")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port, 30)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._publish, daemon=True)
        self.done = threading.Event()

    def _publish(self):
        info = None
        for i in range(READINGS):
            info = self.client.publish(f"sensors/loss-{i % DEVICES}/pot",
                                       json.dumps({"value": i, "ts": TS + i, "seq": i}), qos=1)
        info.wait_for_publish(120)
        self.done.set()

    def start(self):
        self.thread.start()
        return self

    def finish(self):
        wait_until(self.done.is_set, 120, message="the broker did not take every reading")
        self.client.disconnect()
        self.client.loop_stop()


def wait_all_stored(db, running):
    try:
        wait_until(lambda: count(db) >= READINGS, 60, interval=0.2)
    except TimeoutError:
        pass
    # Settled: nothing more arrives (every redelivery has been stored).
    stored = count(db)
    wait_until(lambda: latest_stats(db).get("pending_points", 1) == 0, 30, interval=0.2)
    assert count(db) == READINGS, (f"{READINGS - count(db)} of {READINGS} readings lost "
                                   f"(stored {stored})\n{running.log()}")


def test_kill_9_in_mid_stream_loses_no_qos1_reading(mosquitto, deployed_listener, db):
    running = deployed_listener()
    stream = Stream(mosquitto).start()
    wait_until(lambda: count(db) >= READINGS // 4, 60, interval=0.05,
               message="the listener stored nothing")
    running.kill()
    running.start()
    stream.finish()
    wait_all_stored(db, running)


def test_broker_restart_with_queued_readings_loses_none(mosquitto, deployed_listener, db):
    running = deployed_listener()
    running.stop()  # the broker now queues the readings for its persistent session
    stream = Stream(mosquitto).start()
    stream.finish()
    mosquitto.restart()  # a clean stop saves the queue
    running.start()
    wait_all_stored(db, running)


def test_broker_restart_in_mid_stream_loses_no_qos1_reading(mosquitto, deployed_listener, db):
    running = deployed_listener()
    running.stop()
    stream = Stream(mosquitto).start()
    stream.finish()
    running.start()
    wait_until(lambda: count(db) >= READINGS // 4, 60, interval=0.05,
               message="the listener stored nothing")
    mosquitto.restart()
    wait_all_stored(db, running)
