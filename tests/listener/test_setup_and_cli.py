"""`python -m listener --setup`, `--healthcheck`, configuration errors, a non-admin InfluxDB
user, downsampling, and a full spool."""

import json
import subprocess
import sys
import time

from influxdb import InfluxDBClient

from devstack.wait import wait_until
from tests.listener.conftest import (
    DATABASE,
    REPO,
    RunningListener,
    count,
    latest_stats,
    points,
    wait_count,
)


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "listener", *args], capture_output=True,
                          text=True, timeout=90, cwd=REPO,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env})


def influx_env(influxdb, tmp_path, **overrides):
    return {"INFLUXDB_URL": influxdb.url, "INFLUXDB_DATABASE": DATABASE,
            "LISTENER_SPOOL_DIR": str(tmp_path / "spool"), **overrides}


def policies(db):
    return {p["name"]: (p["duration"], p["default"]) for p in db.get_list_retention_policies()}


def continuous_queries(db):
    return {q["name"]: q["query"] for entry in db.get_list_continuous_queries()
            for name, queries in entry.items() if name == DATABASE for q in queries}


def test_setup_creates_then_updates_then_keeps_the_schema(influxdb, db, tmp_path):
    for _ in range(2):  # a second run on an existing database changes nothing
        result = cli("--setup", env=influx_env(influxdb, tmp_path))
        assert result.returncode == 0, result.stderr
        assert policies(db) == {"autogen": ("0s", False), "raw": ("720h0m0s", True),
                                "downsampled": ("87360h0m0s", False)}
        assert "GROUP BY time(1m), *" in continuous_queries(db)["downsample"]

    changed = influx_env(influxdb, tmp_path, LISTENER_RETENTION="7d",
                         LISTENER_DOWNSAMPLE_RETENTION="INF", LISTENER_DOWNSAMPLE_INTERVAL="5m")
    assert cli("--setup", env=changed).returncode == 0
    assert policies(db)["raw"] == ("168h0m0s", True)
    assert policies(db)["downsampled"] == ("0s", False)
    assert "GROUP BY time(5m), *" in continuous_queries(db)["downsample"]

    disabled = influx_env(influxdb, tmp_path, LISTENER_DOWNSAMPLE_INTERVAL="")
    assert cli("--setup", env=disabled).returncode == 0
    assert continuous_queries(db) == {}


def test_invalid_configuration_exits_2_naming_every_problem_before_any_io(tmp_path):
    env = {"LISTENER_SPOOL_DIR": str(tmp_path / "spool"), "MQTT_PORT": "99999",
           "LISTENER_BATCH_SIZE": "many", "INFLUXDB_URL": "influx:8086"}
    result = cli(env=env)
    assert result.returncode == 2
    for name in ("MQTT_PORT", "LISTENER_BATCH_SIZE", "INFLUXDB_URL"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "spool").exists()


def test_healthcheck_follows_the_running_listener(listener, listener_env):
    env = {"LISTENER_SPOOL_DIR": str(listener.spool_dir)}
    wait_until(lambda: cli("--healthcheck", env=env).returncode == 0, 10,
               message="never healthy")
    assert listener.stop() == 0
    result = cli("--healthcheck", env=env)
    assert result.returncode == 1 and "unhealthy" in result.stderr


def test_downsampling_writes_means(listener_factory, publisher, db):
    running = listener_factory(LISTENER_DOWNSAMPLE_INTERVAL="1s")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not points(db, "SELECT * FROM downsampled.pot"):
        publisher.publish("sensors/ds/pot", b"10")
        publisher.publish("sensors/ds/pot", b"20")
        time.sleep(0.2)  # pacing the readings so that they span several 1 s intervals
    rows = points(db, "SELECT * FROM downsampled.pot")
    assert rows, running.log()
    assert {row["device"] for row in rows} == {"ds"}
    assert all(10 <= row["value"] <= 20 for row in rows)


def _query(influxdb, statement, auth=(None, None)):
    client = InfluxDBClient(influxdb.host, influxdb.port, *auth, timeout=10)
    try:
        client.query(statement, method="POST")
    finally:
        client.close()


def test_non_admin_user_uses_the_database_an_admin_set_up(influxdb_factory, listener_env,
                                                           status_probe, publisher, tmp_path):
    secured = influxdb_factory(auth=True)
    _query(secured, "CREATE USER admin WITH PASSWORD 'admin-pass' WITH ALL PRIVILEGES")
    admin = ("admin", "admin-pass")
    setup = cli("--setup", env=influx_env(secured, tmp_path, INFLUXDB_USERNAME=admin[0],
                                          INFLUXDB_PASSWORD=admin[1]))
    assert setup.returncode == 0, setup.stderr
    _query(secured, "CREATE USER writer WITH PASSWORD 'writer-pass'", admin)
    _query(secured, f'GRANT ALL ON "{DATABASE}" TO writer', admin)

    env = listener_env("listener", INFLUXDB_URL=secured.url, INFLUXDB_USERNAME="writer",
                       INFLUXDB_PASSWORD="writer-pass")
    running = RunningListener("listener", env, status_probe, tmp_path / "run")
    try:
        running.start()
        publisher.publish("sensors/na/pot", b"5")
        db = InfluxDBClient(secured.host, secured.port, *admin, database=DATABASE)
        assert wait_count(db, 1, service=running) == 1
        assert "may not create databases" in running.log()
        assert policies(db)["raw"] == ("720h0m0s", True)
    finally:
        running.service.close()


def test_full_spool_stops_acknowledging_and_the_broker_holds_the_rest(
        listener_factory, publisher, db, influxdb):
    running = listener_factory(LISTENER_SPOOL_MAX_MB="0.01")  # 10 KB: a few batches of 20
    publisher.publish("sensors/full/pot", b"0")
    wait_count(db, 1, service=running)
    influxdb.stop()
    ts = int(time.time() * 1000) - 60_000
    total = 1000
    for i in range(1, total):
        payload = json.dumps({"value": i, "ts": ts + i, "seq": i})
        publisher.client.publish("sensors/full/pot", payload, qos=1)
    wait_until(lambda: "spool full" in running.log(), 20, message="spool never filled")
    spooled = sum(p.stat().st_size for p in running.spool_dir.glob("*.lp"))
    assert 0 < spooled <= 10 * 1024 * 1.024
    influxdb.start()
    assert wait_count(db, total, timeout=60, service=running) == total
    assert count(db, field="seq") == total - 1
    wait_until(lambda: latest_stats(db).get("dropped") == 0, 10)


def test_database_dropped_while_running_is_created_again(listener, publisher, db):
    publisher.publish("sensors/drop/pot", b"1")
    wait_count(db, 1, service=listener)
    db.query(f'DROP DATABASE "{DATABASE}"', method="POST")
    publisher.publish("sensors/drop/pot", b"2")
    assert wait_count(db, 1, service=listener) == 1
    assert points(db, "SELECT value FROM pot")[0]["value"] == 2.0
    assert policies(db)["raw"] == ("720h0m0s", True)


def test_a_user_without_write_rights_is_named_its_readings_held_until_granted(
        influxdb_factory, listener_env, status_probe, publisher, tmp_path):
    secured = influxdb_factory(auth=True)
    _query(secured, "CREATE USER admin WITH PASSWORD 'admin-pass' WITH ALL PRIVILEGES")
    admin = ("admin", "admin-pass")
    _query(secured, f'CREATE DATABASE "{DATABASE}"', admin)
    _query(secured, "CREATE USER writer WITH PASSWORD 'writer-pass'", admin)
    env = listener_env("listener", INFLUXDB_URL=secured.url, INFLUXDB_USERNAME="writer",
                       INFLUXDB_PASSWORD="writer-pass")
    running = RunningListener("listener", env, status_probe, tmp_path / "run")
    try:
        running.start()
        for i in range(5):
            publisher.publish("sensors/auth/pot", str(i).encode())
        wait_until(lambda: "refuses user 'writer' (not authorized)" in running.log(), 20,
                   message="the refusal was not named")
        wait_until(lambda: list(running.spool_dir.glob("*.lp")), 10,
                   message="the readings were not held in the spool")
        assert running.log().count("refuses user") == 1, running.log()
        _query(secured, f'GRANT WRITE ON "{DATABASE}" TO writer', admin)
        db = InfluxDBClient(secured.host, secured.port, *admin, database=DATABASE)
        assert wait_count(db, 5, timeout=30, service=running) == 5
    finally:
        running.service.close()
