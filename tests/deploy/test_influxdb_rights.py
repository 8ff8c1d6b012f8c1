"""The InfluxDB users as the influxdb image creates them from docker-compose.yml, on the real
influxd: the admin sets the schema up (`python -m listener --setup`, the influxdb-setup service),
the listener's user may write and nothing more, Grafana's and the console's may read and nothing
more."""

import re
import subprocess
import sys
import time

import pytest
import requests
import yaml

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import Service
from devstack.wait import wait_until
from tests.support.tools import require_tool

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
DATABASE = "iot"
ADMIN, WRITER, READER = ("admin", "admin-pw"), ("listener", "writer-pw"), ("grafana", "reader-pw")


def test_compose_asks_the_image_for_a_write_only_and_a_read_only_user():
    env = COMPOSE["influxdb"]["environment"]
    assert env["INFLUXDB_WRITE_USER"] == COMPOSE["listener"]["environment"]["INFLUXDB_USERNAME"]
    assert env["INFLUXDB_READ_USER"] == "grafana"
    assert "INFLUXDB_USER" not in env  # that one would get ALL privileges on the database
    setup = COMPOSE["influxdb-setup"]
    assert setup["command"] == ["--setup"]
    assert setup["environment"]["INFLUXDB_USERNAME"] == env["INFLUXDB_ADMIN_USER"]


def query(server, statement, auth, method="POST"):
    answer = requests.request(method, f"{server.url}/query", auth=auth, timeout=10,
                              params={"q": statement, "db": DATABASE})
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") \
        else {}
    refused = answer.status_code != 200 or "error" in body or \
        any("error" in result for result in body.get("results", []))
    return refused, body


def write(server, line, auth):
    return requests.post(f"{server.url}/write", params={"db": DATABASE}, data=line, auth=auth,
                         timeout=10).status_code


@pytest.fixture
def secured(influxdb_factory):
    """influxd with auth on and the users the image's first start creates (init-influxdb.sh:
    CREATE USER, REVOKE ALL PRIVILEGES, GRANT WRITE / GRANT READ ON the database)."""
    server = influxdb_factory(auth=True)
    query(server, f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES", None)
    for statement in [f"CREATE DATABASE {DATABASE}",
                      f"CREATE USER {WRITER[0]} WITH PASSWORD '{WRITER[1]}'",
                      f'REVOKE ALL PRIVILEGES FROM "{WRITER[0]}"',
                      f'GRANT WRITE ON "{DATABASE}" TO "{WRITER[0]}"',
                      f"CREATE USER {READER[0]} WITH PASSWORD '{READER[1]}'",
                      f'REVOKE ALL PRIVILEGES FROM "{READER[0]}"',
                      f'GRANT READ ON "{DATABASE}" TO "{READER[0]}"']:
        refused, body = query(server, statement, ADMIN)
        assert not refused, (statement, body)
    return server


def listener_env(server, username, password, tmp_path, **extra):
    return {"INFLUXDB_URL": server.url, "INFLUXDB_DATABASE": DATABASE,
            "INFLUXDB_USERNAME": username, "INFLUXDB_PASSWORD": password,
            "LISTENER_SPOOL_DIR": str(tmp_path / "spool"), **extra}


def test_the_admin_sets_up_and_the_write_only_listener_stores(secured, mosquitto, tmp_path):
    setup = Service("listener-setup", [sys.executable, "-m", "listener", "--setup"],
                    env=listener_env(secured, *ADMIN, tmp_path))
    try:
        setup.start()
        wait_until(lambda: setup.returncode is not None, 60, message="--setup did not finish")
        assert setup.returncode == 0, setup.log_tail()
    finally:
        setup.close()

    listener = Service("listener", [sys.executable, "-m", "listener"], env=listener_env(
        secured, *WRITER, tmp_path, MQTT_HOST=mosquitto.host, MQTT_PORT=str(mosquitto.port),
        LISTENER_CLIENT_ID="listener"))
    try:
        listener.start()
        with Probe(mosquitto.host, mosquitto.port) as sensor:
            def stored():
                sensor.publish("sensors/esp32-a1b2c3/pot", b"42", qos=1)
                _, body = query(secured, "SELECT count(value) FROM pot", READER)
                return body["results"][0].get("series")
            wait_until(stored, 30, interval=0.5,
                       message=f"nothing stored:\n{listener.log_tail()}")
        assert listener.returncode is None, listener.log_tail()
    finally:
        listener.close()


@pytest.mark.parametrize("statement", [
    "SELECT * FROM pot",
    "SHOW MEASUREMENTS",
    "DROP MEASUREMENT pot",
    f'DROP DATABASE "{DATABASE}"',
    "CREATE DATABASE other",
    f'CREATE RETENTION POLICY "forever" ON "{DATABASE}" DURATION INF REPLICATION 1 DEFAULT',
    f'ALTER RETENTION POLICY "autogen" ON "{DATABASE}" DURATION 1h',
    f'CREATE CONTINUOUS QUERY "cq" ON "{DATABASE}" BEGIN SELECT mean(value) INTO "m" FROM pot '  # noqa: S608
    "GROUP BY time(1m) END",
    "SHOW SERIES",
    "CREATE USER mallory WITH PASSWORD 'x' WITH ALL PRIVILEGES",
    f'GRANT ALL ON "{DATABASE}" TO "{WRITER[0]}"',
])
def test_the_listeners_user_can_write_and_nothing_more(secured, statement):
    now = int(time.time() * 1e9)
    assert write(secured, f"pot,device=esp32-a1b2c3 value=80 {now}", WRITER) == 204
    refused, body = query(secured, statement, WRITER)
    assert refused, body


@pytest.mark.parametrize("statement", [
    "DELETE FROM pot",
    "DROP SERIES FROM pot",
    f'DROP CONTINUOUS QUERY "anything" ON "{DATABASE}"',
])
def test_what_influxdbs_write_privilege_also_allows(secured, statement):
    """InfluxDB 1.x has no finer right than WRITE, and WRITE also deletes series and drops
    continuous queries (docs/boards.md says so; influxdb-setup recreates the query at every
    `docker compose up`)."""
    refused, body = query(secured, statement, WRITER)
    assert not refused, body


def test_the_upgrade_commands_take_an_old_listener_user_back_to_writing(secured):
    """docs/boards.md, "Upgrading": the commands for an installation whose `listener` user got
    ALL privileges from an older compose file (INFLUXDB_USER), run with the influx CLI."""
    influx = require_tool("influx", "Debian's influxdb-client: run `make deps`")
    query(secured, f'GRANT ALL ON "{DATABASE}" TO "{WRITER[0]}"', ADMIN)
    assert not query(secured, "SHOW MEASUREMENTS", WRITER)[0]
    doc = (ROOT / "docs" / "boards.md").read_text()
    commands = re.findall(r"(?m)^ *docker compose exec influxdb (sh -c .*)$", doc)
    assert len(commands) == 2
    for command in commands:
        command = command.replace("influx -username", f"{influx} -host {secured.host} "
                                  f"-port {secured.port} -username")
        subprocess.run(command, shell=True, check=True, timeout=60,  # noqa: S602
                       env={"INFLUXDB_ADMIN_PASSWORD": ADMIN[1], "PATH": "/usr/bin:/bin"})
    assert query(secured, "SHOW MEASUREMENTS", WRITER)[0]
    assert write(secured, f"pot,device=esp32-a1b2c3 value=1 {int(time.time() * 1e9)}",
                 WRITER) == 204


CONSOLE = ("console", "console-pw")


def run_console_user_script(server, password=CONSOLE[1]):
    """influxdb-init/console-user.sh as the image's first start runs it: sourced by bash with
    INFLUX_CMD logged in as the admin (init-influxdb.sh)."""
    influx = require_tool("influx", "Debian's influxdb-client: run `make deps`")
    env = {"INFLUX_CMD": f"{influx} -host {server.host} -port {server.port} "
                         f"-username {ADMIN[0]} -password {ADMIN[1]} -execute ",
           "INFLUXDB_DB": DATABASE, "INFLUXDB_CONSOLE_PASSWORD": password,
           "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", f". {ROOT / 'influxdb-init' / 'console-user.sh'}"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_compose_gives_the_console_its_own_read_only_user():
    influxdb, console = COMPOSE["influxdb"], COMPOSE["console"]
    assert "./influxdb-init:/docker-entrypoint-initdb.d:ro" in influxdb["volumes"]
    assert console["environment"]["CONSOLE_INFLUXDB_USERNAME"] == CONSOLE[0]
    assert console["environment"]["CONSOLE_INFLUXDB_PASSWORD"] == \
        influxdb["environment"]["INFLUXDB_CONSOLE_PASSWORD"]


@pytest.mark.parametrize("reader", ["grafana", "console"])
@pytest.mark.parametrize("statement", [
    "DROP MEASUREMENT pot",
    "DELETE FROM pot",
    f'DROP DATABASE "{DATABASE}"',
    "CREATE USER mallory WITH PASSWORD 'x' WITH ALL PRIVILEGES",
    f'GRANT ALL ON "{DATABASE}" TO "{{user}}"',
])
def test_the_read_only_users_can_read_and_nothing_more(secured, reader, statement):
    """Grafana's user, made by the image, and the console's, made by console-user.sh."""
    auth = READER
    if reader == "console":
        done = run_console_user_script(secured)
        assert done.returncode == 0, done.stderr
        auth = CONSOLE
    now = int(time.time() * 1e9)
    assert write(secured, f"pot,device=esp32-a1b2c3 value=80 {now}", WRITER) == 204
    refused, body = query(secured, "SELECT value FROM pot", auth, method="GET")
    assert not refused and body["results"][0]["series"][0]["values"][0][1] == 80
    assert write(secured, f"pot,device=esp32-a1b2c3 value=1 {now}", auth) == 403
    refused, body = query(secured, statement.format(user=auth[0]), auth)
    assert refused, body


def test_the_console_user_script_runs_again_for_an_upgrade(secured):
    """Run again (docs/deploy.md, "Upgrading"), it keeps one user, read-only, with the new
    password; the old one no longer works."""
    assert run_console_user_script(secured, "old-pw").returncode == 0
    done = run_console_user_script(secured)
    assert done.returncode == 0, done.stderr
    _, body = query(secured, "SHOW USERS", ADMIN, method="GET")
    users = {row[0]: row[1] for row in body["results"][0]["series"][0]["values"]}
    assert users[CONSOLE[0]] is False  # not an admin
    assert query(secured, "SHOW MEASUREMENTS", CONSOLE, method="GET")[0] is False
    assert query(secured, "SHOW MEASUREMENTS", (CONSOLE[0], "old-pw"), method="GET")[0]
    _, body = query(secured, f'SHOW GRANTS FOR "{CONSOLE[0]}"', ADMIN, method="GET")
    assert body["results"][0]["series"][0]["values"] == [[DATABASE, "READ"]]


def test_the_console_user_script_refuses_to_run_without_its_password(secured):
    done = run_console_user_script(secured, password="")
    assert done.returncode != 0
    assert "INFLUXDB_CONSOLE_PASSWORD" in done.stderr
    assert query(secured, "SHOW MEASUREMENTS", (CONSOLE[0], ""), method="GET")[0]
