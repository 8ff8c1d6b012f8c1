"""Issue 19 item 6, readings: every process of the native stack (mosquitto with the deployed
persistence settings, influxd, the listener) killed with SIGKILL at the same instant, then
started again from the same data folders. Nothing the docs promise is lost
(docs/reliability.md, "Readings"):

- streaming, the listener running: every reading stored before the cut is still stored, and the
  stack stores again afterwards (what the cut may take is the listener's window, measured by
  `python -m bench listener_window`);
- InfluxDB away: every reading the listener spooled (and so acknowledged) is stored after;
- the listener away: every reading the broker saved before the cut is stored after.
"""

import json
import os
import signal
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from devstack import power
from devstack.wait import wait_until
from tests.support.influx import count, points

TS = int(time.time() * 1000) - 3_600_000
# The deployed persistence and queue settings (mosquitto/config/mosquitto.conf), and log lines
# that say when the broker saved its state.
DEPLOYED_BROKER = """\
autosave_interval 60
max_queued_messages 100000
max_queued_bytes 20000000
queue_qos0_messages true
max_inflight_messages 1000
log_type information
"""


@pytest.fixture
def mosquitto(mosquitto_factory):
    return mosquitto_factory(config=DEPLOYED_BROKER)


@pytest.fixture
def stack(mosquitto, influxdb, listener_factory):
    running = listener_factory(LISTENER_MAX_UNACKED="1000")
    return mosquitto, influxdb, running


def publish(broker, first, number, rate=None, stop=None):
    """QoS 1 readings seq first.. first+number-1 on one device, each with its own ts; waits
    until the broker acknowledged the last one (or only stops, once `stop` is set)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cut-pub-{first}")
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port, 30)
    client.loop_start()
    info = None
    for seq in range(first, first + number):
        if stop is not None and stop.is_set():
            client.disconnect()
            client.loop_stop()
            return
        info = client.publish("sensors/esp32-cut/pot",
                              json.dumps({"value": seq, "ts": TS + seq, "seq": seq}), qos=1)
        if rate:
            time.sleep(1 / rate)
    info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def stored_seqs(db):
    return {row["seq"] for row in points(db, "SELECT seq FROM pot")}


def cut_and_restore(broker, influxdb, running):
    power.cut(broker, influxdb, running.service)
    power.restore(broker, influxdb)
    running.start()


def test_cut_while_streaming_keeps_everything_stored_and_stores_again(stack, db):
    broker, influxdb, running = stack
    stop = threading.Event()
    streaming = threading.Thread(target=publish, args=(broker, 0, 100_000, 200, stop),
                                 daemon=True)
    streaming.start()
    try:
        wait_until(lambda: count(db) >= 500, 60, interval=0.1, message="nothing stored")
        before = stored_seqs(db)
        cut_and_restore(broker, influxdb, running)
    finally:
        stop.set()
        streaming.join(30)
    publish(broker, 1_000_000, 100)
    wait_until(lambda: count(db) >= len(before) + 100, 60, interval=0.2,
               message="the stack does not store after the cut")
    after = stored_seqs(db)
    assert before <= after, f"{len(before - after)} stored readings lost"
    assert set(range(1_000_000, 1_000_100)) <= after


def test_cut_with_influxdb_away_loses_nothing_the_listener_spooled(stack, db):
    broker, influxdb, running = stack
    publish(broker, 0, 10)
    wait_until(lambda: count(db) >= 10, 30, interval=0.1, message="nothing stored")
    influxdb.kill()
    publish(broker, 10, 2000)

    def spooled():
        lines = 0
        for path in running.spool_dir.glob("*.lp"):
            lines += path.read_bytes().count(b"\n")
        return lines >= 2000
    wait_until(spooled, 60, interval=0.2, message="the listener did not spool every reading")
    cut_and_restore(broker, influxdb, running)
    wait_until(lambda: count(db) >= 2010, 60, interval=0.2,
               message=f"spooled readings lost: {2010 - count(db)}\n{running.log()}")
    assert stored_seqs(db) == set(range(2010))


def test_cut_with_the_listener_away_loses_nothing_the_broker_saved(stack, db):
    broker, influxdb, running = stack
    publish(broker, 0, 10)
    wait_until(lambda: count(db) >= 10, 30, interval=0.1, message="nothing stored")
    running.stop()  # the broker queues the readings for the listener's persistent session
    saves = broker.log_path.read_text().count("Saving in-memory database")
    publish(broker, 10, 2000)
    # The broker's autosave (every 60 s), made now: SIGUSR1 saves the in-memory database.
    os.kill(broker.process.pid, signal.SIGUSR1)
    wait_until(lambda: broker.log_path.read_text().count("Saving in-memory database") > saves,
               30, interval=0.2, message="the broker never saved")
    power.cut(broker, influxdb)
    power.restore(broker, influxdb)
    running.start()
    wait_until(lambda: count(db) >= 2010, 60, interval=0.2,
               message=f"saved readings lost: {2010 - count(db)}\n{running.log()}")
    assert stored_seqs(db) == set(range(2010))
