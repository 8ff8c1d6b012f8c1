"""The harness itself: real servers start, carry data, and keep it across restarts."""

import influxdb as influx_client
import pytest

from devstack.mqtt_probe import Probe, read_retained
from devstack.servers import port_open
from devstack.wait import wait_until


def test_wait_until_returns_the_first_truthy_value():
    values = iter([0, None, "", 7])
    assert wait_until(lambda: next(values), timeout=1) == 7


def test_wait_until_raises_after_the_deadline():
    with pytest.raises(TimeoutError, match="never"):
        wait_until(lambda: False, timeout=0.05, message="never")


def test_publish_and_receive_through_the_broker(mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["harness/#"]) as probe:
        probe.publish("harness/hello", b"42")
        probe.wait_for("harness/hello", b"42")


def test_broker_keeps_retained_messages_across_a_restart(mosquitto):
    with Probe(mosquitto.host, mosquitto.port) as probe:
        probe.publish("harness/state", b"1", retain=True)
    mosquitto.restart()
    assert read_retained(mosquitto.host, mosquitto.port, "harness/state") == b"1"


def test_broker_stop_closes_the_port_and_start_reopens_it(mosquitto):
    mosquitto.stop()
    assert not port_open(mosquitto.port)
    mosquitto.start()
    assert port_open(mosquitto.port)


def _client(server):
    return influx_client.InfluxDBClient(host=server.host, port=server.port, database="harness")


def test_write_and_query_through_influxdb(influxdb):
    client = _client(influxdb)
    client.create_database("harness")
    client.write_points(["pot,device=a value=1.5 1000000000"], protocol="line")
    points = list(client.query('SELECT "value" FROM "pot"').get_points())
    assert points == [{"time": "1970-01-01T00:00:01Z", "value": 1.5}]


def test_influxdb_keeps_data_across_a_restart(influxdb):
    client = _client(influxdb)
    client.create_database("harness")
    client.write_points(["pot,device=a value=2 2000000000"], protocol="line")
    influxdb.restart()
    points = list(_client(influxdb).query('SELECT "value" FROM "pot"').get_points())
    assert [p["value"] for p in points] == [2.0]


def test_server_close_removes_its_folder(mosquitto_factory):
    broker = mosquitto_factory()
    folder = broker.workdir
    broker.close()
    assert not folder.exists()
