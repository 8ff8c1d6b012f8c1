"""`make device` / `make device-remove` (scripts/devices.py): one broker user per board, its
rules, and the PlatformIO environment that flashes it. The broker side is in test_broker.py."""

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from tests.deploy.conftest import ROOT, find_tool

SCRIPT = ROOT / "scripts" / "devices.py"


def run(tmp_path, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--passwd", str(tmp_path / "passwd"),
         "--acl", str(tmp_path / "devices.acl"), "--boards", str(tmp_path / "devices")],
        capture_output=True, text=True, timeout=60)


def printed_password(output):
    return re.search(r"(?m)^mqtt_password = (\S+)$", output).group(1)


def test_add_prints_the_credentials_and_hashes_only(tmp_path, make_secrets):
    (tmp_path / "passwd").write_text("listener:$7$101$kept$as-is\n")
    result = run(tmp_path, "add", "esp32-a1b2c3", "--role", "sensor")
    assert result.returncode == 0, result.stderr
    password = printed_password(result.stdout)
    assert "mqtt_username = esp32-a1b2c3" in result.stdout
    assert "pio run -e esp32-a1b2c3 -t upload" in result.stdout
    passwd = (tmp_path / "passwd").read_text().splitlines()
    assert passwd[0] == "listener:$7$101$kept$as-is"
    user, encoded = passwd[1].split(":", 1)
    assert user == "esp32-a1b2c3" and make_secrets.password_matches(encoded, password)
    assert password not in (tmp_path / "passwd").read_text()
    for path in (tmp_path / "passwd", tmp_path / "devices.acl",
                 tmp_path / "devices" / "esp32-a1b2c3.ini"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_every_board_gets_its_own_password(tmp_path):
    first = printed_password(run(tmp_path, "add", "esp32-a1b2c3", "--role", "sensor").stdout)
    second = printed_password(run(tmp_path, "add", "esp32-b2c3d4", "--role", "sensor").stdout)
    assert first != second and len(first) >= 32


def test_the_platformio_env_extends_the_role_with_the_boards_identity(tmp_path):
    result = run(tmp_path, "add", "esp8266-d4e5f6", "--role", "indicator")
    ini = (tmp_path / "devices" / "esp8266-d4e5f6.ini").read_text()
    assert "[env:esp8266-d4e5f6]\nextends = env:indicator\n" in ini
    assert "custom_device_id = esp8266-d4e5f6\n" in ini
    assert "custom_mqtt_username = esp8266-d4e5f6\n" in ini
    assert f"custom_mqtt_password = {printed_password(result.stdout)}\n" in ini


def test_remove_takes_away_exactly_one_board(tmp_path):
    run(tmp_path, "add", "esp32-a1b2c3", "--role", "sensor")
    run(tmp_path, "add", "esp8266-d4e5f6", "--role", "indicator")
    before = {p: (tmp_path / p).read_text() for p in ("passwd", "devices.acl")}
    result = run(tmp_path, "remove", "esp32-a1b2c3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "passwd").read_text() == before["passwd"].splitlines(True)[1]
    acl = (tmp_path / "devices.acl").read_text()
    assert "esp32-a1b2c3" not in acl and acl.strip() in before["devices.acl"]
    assert not (tmp_path / "devices" / "esp32-a1b2c3.ini").exists()
    assert (tmp_path / "devices" / "esp8266-d4e5f6.ini").exists()
    again = run(tmp_path, "remove", "esp32-a1b2c3")
    assert again.returncode == 2 and "not registered" in again.stderr


@pytest.mark.parametrize("name, role, message", [
    ("ESP32", "sensor", "is no device id"),
    ("esp32/a1", "sensor", "is no device id"),
    ("+", "sensor", "is no device id"),
    ("", "sensor", "is no device id"),
    ("webhook", "sensor", "name of a service"),
    ("listener", "listener", "name of a service"),
    ("sensor", "sensor", "retired shared user"),
    ("esp32-a1b2c3", "", "ROLE='' must be one of"),
    ("esp32-a1b2c3", "admin", "ROLE='admin' must be one of"),
])
def test_refuses_bad_names_and_roles_in_one_sentence(tmp_path, name, role, message):
    result = run(tmp_path, "add", name, "--role", role)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "passwd").exists()


def test_refuses_a_board_registered_already(tmp_path):
    run(tmp_path, "add", "esp32-a1b2c3", "--role", "sensor")
    before = (tmp_path / "passwd").read_text()
    result = run(tmp_path, "add", "esp32-a1b2c3", "--role", "indicator")
    assert result.returncode == 2 and "device-remove" in result.stderr
    assert (tmp_path / "passwd").read_text() == before


def test_make_secrets_keeps_the_boards(tmp_path, make_secrets):
    env, passwd = tmp_path / ".env", tmp_path / "passwd"
    make_secrets.make_secrets(env, ROOT / ".env.example", passwd)
    run(tmp_path, "add", "esp32-a1b2c3", "--role", "sensor")
    with_board = passwd.read_text()
    make_secrets.make_secrets(env, ROOT / ".env.example", passwd)
    assert passwd.read_text() == with_board


def acl_blocks(text):
    """{user: [rules]} of an ACL file."""
    blocks, user = {}, None
    for line in text.splitlines():
        if line.startswith("user "):
            user = line.split()[1]
            blocks[user] = []
        elif line.startswith("topic ") and user:
            blocks[user].append(line)
    return blocks


def test_the_shipped_listener_rules_are_the_replicas_rules(devices):
    shipped = acl_blocks((ROOT / "mosquitto" / "config" / "acl").read_text())
    assert shipped["listener"] == list(devices.ROLES["listener"])


def test_board_files_are_git_ignored():
    for path in ("firmware/devices/esp32-a1b2c3.ini", "mosquitto/config/devices.acl",
                 "mosquitto/config/passwd", ".env"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30)
        assert result.returncode == 0, f"{path} is not git-ignored"


def test_the_makefile_passes_name_and_role(tmp_path):
    result = subprocess.run(["make", "-n", "device", "NAME=esp32-a1b2c3", "ROLE=sensor"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert 'scripts/devices.py add "esp32-a1b2c3" --role "sensor"' in result.stdout
    result = subprocess.run(["make", "-n", "device", "NAME=plc-7", "ROLE=http",
                             "INGEST_USERS_FILE=/srv/users"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert ('-m webhook.ingest_users --file "/srv/users" add "plc-7" --devices "plc-7"'
            in result.stdout)


@pytest.mark.skipif(importlib.util.find_spec("webhook.ingest_users") is None,
                    reason="webhook.ingest_users is not merged yet (the ingest helper's)")
def test_an_http_sender_is_registered_and_removed_by_the_webhooks_users_module(tmp_path):
    users = tmp_path / "ingest-users"

    def make(*args):
        return subprocess.run(["make", "-s", *args, "NAME=plc-7", "ROLE=http",
                               f"INGEST_USERS_FILE={users}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    added = make("device")
    assert added.returncode == 0, added.stderr
    assert "ingest_password = " in added.stdout and "\nplc-7:" in users.read_text()
    removed = make("device-remove")
    assert removed.returncode == 0, removed.stderr
    assert "\nplc-7:" not in users.read_text()


# --- PlatformIO reads the generated environment ------------------------------------------------

def pio_config(project, tmp_path):
    pio = find_tool("pio")
    if pio is None:
        pytest.skip("PlatformIO is not installed (pip install platformio)")
    result = subprocess.run(
        [pio, "project", "config", "--json-output", "-d", str(project)], capture_output=True,
        text=True, timeout=120,
        env={**os.environ, "PLATFORMIO_CORE_DIR": str(tmp_path / "pio-core")})
    assert result.returncode == 0, result.stdout + result.stderr
    return {section: dict(options) for section, options in json.loads(result.stdout)}


def flag(build_flags, macro):
    found = [f for f in build_flags if f"-D {macro}=" in f]
    assert len(found) == 1, (macro, build_flags)
    return re.search(r'="(.*)"', found[0]).group(1)


def test_pio_builds_the_board_with_its_own_identity(tmp_path):
    project = tmp_path / "firmware"
    project.mkdir()
    (project / "platformio.ini").write_text((ROOT / "firmware" / "platformio.ini").read_text())
    plain = pio_config(project, tmp_path)  # no secrets.ini, no devices/: still parses
    assert flag(plain["env:sensor"]["build_flags"], "ALERTLOOP_MQTT_USERNAME") == ""
    password = printed_password(subprocess.run(
        [sys.executable, str(SCRIPT), "add", "esp32-a1b2c3", "--role", "sensor",
         "--passwd", str(tmp_path / "passwd"), "--acl", str(tmp_path / "acl"),
         "--boards", str(project / "devices")], capture_output=True, text=True,
        timeout=60).stdout)
    config = pio_config(project, tmp_path)
    board = config["env:esp32-a1b2c3"]
    assert board["board"] == config["env:sensor"]["board"]
    assert flag(board["build_flags"], "ALERTLOOP_DEVICE_ID") == "esp32-a1b2c3"
    assert flag(board["build_flags"], "ALERTLOOP_MQTT_USERNAME") == "esp32-a1b2c3"
    assert flag(board["build_flags"], "ALERTLOOP_MQTT_PASSWORD") == password
    assert flag(config["env:sensor"]["build_flags"], "ALERTLOOP_MQTT_PASSWORD") == ""
