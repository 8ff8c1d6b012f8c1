"""History from a real InfluxDB 1.x: the sparklines of the last hour (one query for every
series) and a PID loop's PV, SP and OUT on one trend, with a read-only user."""

import time

import pytest
from influxdb import InfluxDBClient

from console.history import History, HistoryError, InfluxSettings, polyline

DATABASE = "iot"


@pytest.fixture
def stored(influxdb_factory):
    server = influxdb_factory(auth=True)
    admin = InfluxDBClient(server.host, server.port, database=DATABASE)
    admin.query("CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES")
    admin = InfluxDBClient(server.host, server.port, "admin", "admin-pw", DATABASE)
    admin.create_database(DATABASE)
    admin.query("CREATE USER console WITH PASSWORD 'reader-pw'")
    admin.query(f'GRANT READ ON "{DATABASE}" TO "console"')
    now_ms = time.time_ns() // 1_000_000
    lines = []
    for minute in range(30):
        at = (now_ms - minute * 60_000) * 1_000_000
        lines += [f"pot,device=esp32-shed value={minute} {at}",
                  f"pv,device=tic101 value={50 + minute / 10} {at}",
                  f"sp,device=tic101 value=55 {at}",
                  f"out,device=tic101 value={minute * 3} {at}"]
    admin.write_points(lines, protocol="line", time_precision="n")
    yield server
    admin.close()


def reader(server, password="reader-pw"):  # noqa: S107
    return History(InfluxSettings(url=server.url, database=DATABASE, username="console",
                                  password=password))


def test_sparklines_of_every_series_in_one_query(stored):
    lines = reader(stored).sparklines()
    assert set(lines) == {("esp32-shed", "pot"), ("tic101", "pv"), ("tic101", "sp"),
                          ("tic101", "out")}
    assert 25 <= len(lines[("esp32-shed", "pot")]) <= 31


def test_a_loop_trend_and_the_user_is_read_only(stored):
    history = reader(stored)
    trend = history.loop_trend("tic101")
    assert {m: bool(points) for m, points in trend.items()} == {"pv": True, "sp": True,
                                                                "out": True}
    with pytest.raises(HistoryError):
        history._query("DROP MEASUREMENT pot")


def test_influxdb_down_or_a_wrong_password_is_an_error_not_a_crash(stored):
    with pytest.raises(HistoryError):
        reader(stored, "wrong").series("tic101", "pv", 0, time.time() * 1000, 60)
    assert reader(stored, "wrong").sparklines() == {}


def test_polyline_scales_into_the_box():
    assert polyline([(0, 0), (10, 5)], 100, 50) == "0.0,50.0 100.0,0.0"
    assert polyline([], 100, 50) == ""
    assert polyline([(5, 1)], 100, 50, x_range=(0, 10)) == "50.0,50.0"
