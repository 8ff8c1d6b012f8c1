"""The ingest users file and `python -m webhook.ingest_users`: add prints a new password and
keeps the other users, remove takes one out, and a running webhook follows the file."""

import re
import stat
import subprocess
import sys

import pytest

from service_common.config import ConfigError
from tests.ingest.conftest import basic
from webhook import ingest_users
from webhook.ingest_users import (
    IngestUser,
    IngestUsers,
    check_password,
    hash_password,
    main,
    parse_users,
)

READING = {"device": "plc-1", "measurement": "temp", "value": 1}


def add(path, name, devices, capsys):
    assert main(["--file", str(path), "add", name, "--devices", devices]) == 0
    out = capsys.readouterr().out
    return re.search(r"^ingest_password = (\S+)$", out, re.M).group(1)


def test_add_prints_a_new_password_and_never_touches_other_users(tmp_path, capsys):
    path = tmp_path / "ingest-users"
    first = add(path, "plc-line-1", "plc-1*,plc-2", capsys)
    before = path.read_text().splitlines()[1]
    second = add(path, "node-red", "nr-*", capsys)
    assert first != second and len(first) >= 32
    lines = path.read_text().splitlines()
    assert lines[1] == before and lines[2].startswith("node-red:pbkdf2_sha256$")
    assert first not in path.read_text() and second not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = parse_users(path.read_text())
    assert users["plc-line-1"].patterns == ("plc-1*", "plc-2")
    assert check_password(first, users["plc-line-1"].password_hash)
    assert not check_password(second, users["plc-line-1"].password_hash)


def test_adding_an_existing_user_or_removing_a_missing_one_fails(tmp_path, capsys):
    path = tmp_path / "ingest-users"
    add(path, "plc", "plc-*", capsys)
    content = path.read_text()
    assert main(["--file", str(path), "add", "plc", "--devices", "x"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["--file", str(path), "remove", "nobody"]) == 1
    assert path.read_text() == content


def test_an_existing_files_mode_is_kept(tmp_path, capsys):
    path = tmp_path / "ingest-users"
    path.write_text("")
    path.chmod(0o640)
    add(path, "plc", "plc-*", capsys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_remove_and_list(tmp_path, capsys):
    path = tmp_path / "ingest-users"
    add(path, "a", "plc-*", capsys)
    add(path, "b", "gw-1", capsys)
    assert main(["--file", str(path), "remove", "a"]) == 0
    capsys.readouterr()
    assert main(["--file", str(path), "list"]) == 0
    assert capsys.readouterr().out == "b: gw-1\n"


@pytest.mark.parametrize("argv, message", [
    (["add", "bad:name", "--devices", "x"], "no user name"),
    (["add", "ok", "--devices", ","], "names no device pattern"),
    (["add", "ok", "--devices", "a b"], "device pattern"),
])
def test_bad_arguments_are_refused(tmp_path, capsys, argv, message):
    assert main(["--file", str(tmp_path / "f"), *argv]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_the_command_runs_as_documented(tmp_path):
    path = tmp_path / "users"
    done = subprocess.run([sys.executable, "-m", "webhook.ingest_users", "add", "plc-7",
                           "--devices", "plc-7"], env={"INGEST_USERS_FILE": str(path)},
                          capture_output=True, text=True, timeout=60, check=True)
    assert "ingest_username = plc-7" in done.stdout and "ingest_password = " in done.stdout


BAD_FILES = [
    ("two fields", "plc:pbkdf2_sha256$1000$AA==$AA==\n", "expected name:<hash>"),
    ("bad name", "pl c:%s:plc-*\n", "no user name"),
    ("plain password", "plc:secret:plc-*\n", "the hash must look like"),
    ("no patterns", "plc:%s:\n", "names no device pattern"),
    ("twice", "plc:%s:a\nplc:%s:b\n", "appears twice"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_users_files_name_the_line(text, message):
    encoded = hash_password("x", iterations=1000)
    with pytest.raises(ValueError, match=message):
        parse_users(text.replace("%s", encoded), "users")


def test_comments_and_blank_lines_are_ignored():
    encoded = hash_password("x", iterations=1000)
    users = parse_users(f"# users\n\n  plc:{encoded}:plc-*, gw-1  \n")
    assert users["plc"].patterns == ("plc-*", "gw-1")


def test_an_unknown_user_costs_a_password_check_too(monkeypatch):
    """The answer's time must not tell whether a user name exists."""
    checked = []
    monkeypatch.setattr(ingest_users, "check_password",
                        lambda password, encoded: checked.append(encoded) or False)
    users = IngestUsers(IngestUser("env", ("*",), password="pw"), None)
    assert users.verify("someone", "pw") is None and len(checked) == 1


def test_a_running_webhook_follows_the_users_file(broker_app_factory, tmp_path, capsys):
    path = tmp_path / "ingest-users"
    password = add(path, "plc-line", "plc-*", capsys)
    client = broker_app_factory(INGEST_USERS_FILE=path).test_client()

    def status(auth, body=READING):
        return client.post("/ingest", json=body, headers=basic(auth)).status_code

    assert status(("plc-line", password)) == 202
    assert status(("plc-line", password)) == 202  # the remembered check
    assert status(("plc-line", "wrong")) == 401
    assert status(("plc-line", password), {**READING, "device": "esp32-1"}) == 403
    other = add(path, "gw", "gw-*", capsys)
    assert status(("gw", other), {**READING, "device": "gw-3"}) == 202
    assert main(["--file", str(path), "remove", "plc-line"]) == 0
    assert status(("plc-line", password)) == 401
    path.write_text("garbage\n")  # a broken file keeps the users read before
    assert status(("gw", other), {**READING, "device": "gw-3"}) == 202


def test_a_bad_users_file_stops_the_start(broker_app_factory, tmp_path):
    path = tmp_path / "ingest-users"
    path.write_text("plc:secret:plc-*\n")
    with pytest.raises(ConfigError, match="INGEST_USERS_FILE: .* line 1"):
        broker_app_factory(INGEST_USERS_FILE=path)


def test_the_env_user_and_the_file_users_must_have_different_names(broker_app_factory, tmp_path,
                                                                    capsys):
    path = tmp_path / "ingest-users"
    add(path, "plc", "plc-*", capsys)
    with pytest.raises(ConfigError, match="also a user of INGEST_USERS_FILE"):
        broker_app_factory(INGEST_USERS_FILE=path, INGEST_USERNAME="plc", INGEST_PASSWORD="x")
