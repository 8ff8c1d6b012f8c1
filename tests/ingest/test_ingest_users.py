"""The ingest users file and `python -m webhook.ingest_users`: add prints a new password and
keeps the other users, remove takes one out, and a running webhook follows the file."""

import os
import re
import stat
import subprocess
import sys

import pytest

from service_common import files
from service_common.config import ConfigError
from tests.support.fsyncs import record_fsyncs
from tests.support.webhook import basic
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
    assert lines[1] == before and lines[2].startswith("node-red:sha256$")
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


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_an_existing_files_owner_is_kept(tmp_path, capsys):
    path = tmp_path / "ingest-users"
    path.write_text("")
    os.chown(path, 4321, 4322)  # e.g. the webhook container's user, who must still read it
    add(path, "plc", "plc-*", capsys)
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4322)
    assert "plc:" in path.read_text()


def test_an_added_user_is_on_disk_with_its_name_in_the_folder(tmp_path, capsys, monkeypatch):
    """The rename is made durable too: the folder is fsynced after the new file was."""
    path = tmp_path / "ingest-users"
    synced = record_fsyncs(monkeypatch)
    add(path, "plc", "plc-*", capsys)
    assert synced[-2:] == [(False, path.stat().st_ino), (True, tmp_path.stat().st_ino)]


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
    ("two fields", "plc:sha256$AA==$AA==\n", "expected name:<hash>"),
    ("legacy hash without iterations", "plc:pbkdf2_sha256$AA==$AA==:plc-*\n",
     r"pbkdf2_sha256\$<iterations>"),
    ("bad name", "pl c:%s:plc-*\n", "no user name"),
    ("plain password", "plc:secret:plc-*\n", "the hash must look like"),
    ("no patterns", "plc:%s:\n", "names no device pattern"),
    ("twice", "plc:%s:a\nplc:%s:b\n", "appears twice"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_users_files_name_the_line(text, message):
    encoded = hash_password("x")
    with pytest.raises(ValueError, match=message):
        parse_users(text.replace("%s", encoded), "users")


def test_comments_and_blank_lines_are_ignored():
    encoded = hash_password("x")
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


def legacy_hash(password, iterations=200_000):
    """A users-file hash as the versions before SHA-256 wrote it."""
    import base64
    import hashlib
    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return (f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def test_a_generated_password_is_192_random_bits_stored_as_a_salted_sha256(tmp_path, capsys):
    import base64
    import hashlib
    path = tmp_path / "ingest-users"
    password = add(path, "plc", "plc-*", capsys)
    assert len(base64.urlsafe_b64decode(password)) == 24
    encoded = parse_users(path.read_text())["plc"].password_hash
    scheme, salt, digest = encoded.split("$")
    assert scheme == "sha256"
    assert base64.b64decode(digest) == hashlib.sha256(base64.b64decode(salt) +
                                                      password.encode()).digest()


def test_an_older_pbkdf2_hash_still_logs_in_and_is_replaced_by_sha256(tmp_path):
    path = tmp_path / "ingest-users"
    path.write_text(f"# old\nplc:{legacy_hash('old-password')}:plc-*\n"
                    f"gw:{hash_password('gw-password')}:gw-*\n")
    path.chmod(0o640)
    users = IngestUsers(None, path)
    assert users.verify("plc", "wrong") is None
    assert path.read_text().count("pbkdf2_sha256$") == 1  # a wrong password changes nothing
    assert users.verify("plc", "old-password").name == "plc"
    upgraded = parse_users(path.read_text())
    assert upgraded["plc"].password_hash.startswith("sha256$")
    assert check_password("old-password", upgraded["plc"].password_hash)
    assert upgraded["gw"].password_hash.split("$")[0] == "sha256"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert IngestUsers(None, path).verify("plc", "old-password").name == "plc"


def test_a_read_only_users_file_keeps_the_legacy_hash_and_still_logs_in(tmp_path, monkeypatch,
                                                                       caplog):
    path = tmp_path / "ingest-users"
    path.write_text(f"plc:{legacy_hash('old-password', 1000)}:plc-*\n")

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    users = IngestUsers(None, path)
    assert users.verify("plc", "old-password").name == "plc"
    assert "keeps its PBKDF2 hash" in caplog.text
    assert "pbkdf2_sha256$" in path.read_text()


def test_an_unknown_user_costs_no_more_than_a_known_one(tmp_path):
    """Counted, not timed: the same SHA-256 work either way, never PBKDF2."""
    import hashlib
    path = tmp_path / "ingest-users"
    path.write_text(f"plc:{hash_password('pw')}:plc-*\n")
    users = IngestUsers(None, path)
    calls = []
    real = hashlib.sha256

    def counting(*args):
        calls.append(args)
        return real(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest_users.hashlib, "sha256", counting)
        patch.setattr(ingest_users.hashlib, "pbkdf2_hmac", None)
        assert users.verify("plc", "wrong") is None
        known = len(calls)
        assert users.verify("nobody", "wrong") is None
    assert len(calls) - known == known  # the same hashes, and no PBKDF2 (None above)
