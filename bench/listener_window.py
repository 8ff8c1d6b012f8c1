"""What a power cut can take from the readings: the listener's window and the broker's saves.

    python -m bench.listener_window [--rate 100] [--seconds 10]

1. The listener's window: readings the broker has acknowledged (QoS 1) or passed on (QoS 0)
   that the listener has not yet stored. A publisher sends `--rate` readings/s for `--seconds`
   at each QoS to a running listener (deployed flush settings); the listener's `lag_ms`
   (receive-to-stored time of each batch, written to listener_stats every 0.5 s here) gives the
   window in time, and times the rate in readings.
2. The broker's persistence: what each mosquitto setting costs in bytes written per second
   (`wchar` of the mosquitto process: every byte it hands to write(), which an SD card has to
   take) at `--rate` QoS 1 readings/s queued for a persistent session whose client is away
   (the listener stopped: the case where the broker's copy is the only one), and what a power
   cut then loses: the readings queued since the last save.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from devstack.paths import ROOT

PERSISTENCE = [
    ("autosave_interval 300 (shipped)", "autosave_interval 300\n"),
    ("autosave_interval 60", "autosave_interval 60\n"),
    ("autosave_interval 10", "autosave_interval 10\n"),
    ("autosave_interval 1", "autosave_interval 1\n"),
    ("autosave_on_changes, every 1000 changes",
     "autosave_on_changes true\nautosave_interval 1000\n"),
]
BROKER = "max_queued_messages 100000\nmax_queued_bytes 20000000\nqueue_qos0_messages true\n" \
         "max_inflight_messages 1000\nset_tcp_nodelay true\n"


def publish_steadily(host, port, rate, seconds, qos, client_id="bench-window-pub"):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    base = int(time.time() * 1000) - 60_000
    start, sent, info = time.monotonic(), 0, None
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate)
        while sent < due:
            info = client.publish("sensors/esp32-window/pot",
                                  json.dumps({"value": sent % 100, "ts": base + sent,
                                              "seq": sent}), qos=qos)
            sent += 1
        time.sleep(0.002)
    if info is not None:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return sent


def listener_window(rate, seconds):
    from influxdb import InfluxDBClient

    from devstack.mqtt_probe import Probe
    from devstack.servers import InfluxDB, Mosquitto, Service
    from devstack.wait import wait_until

    rows = []
    with Mosquitto(config=BROKER) as broker, InfluxDB() as influx:
        for qos in (0, 1):
            name = f"bench-window-q{qos}"
            env = {"PYTHONPATH": str(ROOT), "MQTT_HOST": broker.host,
                   "MQTT_PORT": str(broker.port), "INFLUXDB_URL": influx.url,
                   "INFLUXDB_DATABASE": name.replace("-", "_"), "LISTENER_CLIENT_ID": name,
                   "LISTENER_QOS": "1", "LISTENER_MAX_UNACKED": "1000",
                   "LISTENER_SPOOL_DIR": str(broker.workdir / name),
                   "LISTENER_STATS_INTERVAL": "0.5", "LISTENER_LOG_LEVEL": "WARNING"}
            with Probe(broker.host, broker.port, [f"status/{name}"]) as status:
                listener = Service(name, [sys.executable, "-m", "listener"], env=env,
                                   ready=lambda s=status, n=name: s.last(f"status/{n}")
                                   == b"online", workdir=broker.workdir / f"run-{name}")
                listener.start()
            db = InfluxDBClient(influx.host, influx.port, database=env["INFLUXDB_DATABASE"])
            try:
                sent = publish_steadily(broker.host, broker.port, rate, seconds, qos)
                wait_until(lambda d=db, n=sent: _count(d) >= n, 60, interval=0.2)
                time.sleep(1.0)  # one more stats line after the last batch
                lags = [p["lag_ms"] for p in db.query(
                    "SELECT lag_ms FROM listener_stats").get_points() if p["lag_ms"]]
            finally:
                listener.close()
                db.close()
            rows.append((qos, statistics.median(lags), max(lags)))
    return rows


def _count(db):
    found = list(db.query("SELECT count(value) FROM pot").get_points())
    return found[0]["count"] if found else 0


def persistence_cost(rate, seconds):
    import psutil

    from devstack.servers import Mosquitto

    rows = []
    for label, lines in PERSISTENCE:
        with Mosquitto(config=BROKER + lines + "log_type information\n") as broker:
            # A persistent session whose client is away: the broker queues everything for it.
            away = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-away",
                               clean_session=False)
            away.connect(broker.host, broker.port)
            away.subscribe("sensors/#", qos=1)
            away.loop(1.0)
            away.disconnect()
            process = psutil.Process(broker.process.pid)
            before = process.io_counters().write_chars
            started = time.monotonic()
            sent = publish_steadily(broker.host, broker.port, rate, seconds, 1)
            written = process.io_counters().write_chars - before
            elapsed = time.monotonic() - started
            log = Path(broker.log_path).read_text(errors="replace")
            saved = broker.workdir / "data" / "mosquitto.db"
            size = saved.stat().st_size if saved.exists() else 0
            rows.append((label, written / elapsed, log.count("Saving in-memory database"),
                         size / sent))
    return rows


def main(argv=()):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(list(argv))
    print(f"listener window: one board's readings at {args.rate:.0f}/s for {args.seconds:.0f} s, "
          "deployed flush settings (LISTENER_FLUSH_INTERVAL 0.5 s, "
          "LISTENER_QOS1_FLUSH_INTERVAL 0.1 s)")
    for qos, median, worst in listener_window(args.rate, args.seconds):
        print(f"  QoS {qos} readings: received -> stored median {median:6.1f} ms, worst "
              f"{worst:6.1f} ms = {worst / 1000 * args.rate:5.1f} readings at risk "
              "(stored nowhere yet)", flush=True)
    print(f"broker persistence: {args.rate:.0f} QoS 1 readings/s queued for an absent "
          f"persistent session, {args.seconds:.0f} s; bytes mosquitto writes, and what a power "
          "cut loses (readings since the last save)")
    for label, per_second, saves, per_reading in persistence_cost(args.rate, args.seconds):
        print(f"  {label:<42} {per_second / 1e3:10.1f} kB/s written, {saves:4d} saves; "
              f"last saved file {per_reading:5.0f} bytes per queued reading", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
