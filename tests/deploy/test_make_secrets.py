"""`make secrets`: strong secrets in .env, never overwritten; the broker's hashed password file."""

import errno
import os
import shutil
import stat
import subprocess
import sys

import pytest

from devstack.paths import ROOT

SCRIPT = ROOT / "scripts" / "make_secrets.py"


def run(tmp_path, *extra):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--env", str(tmp_path / ".env"),
         "--passwd", str(tmp_path / "passwd"), "--root", str(tmp_path / "root"), *extra],
        capture_output=True, text=True, timeout=60,
    )


def write_env(tmp_path, text):
    """A hand-written .env, private as make secrets requires."""
    (tmp_path / ".env").write_text(text)
    (tmp_path / ".env").chmod(0o600)


def test_fills_every_secret_with_a_strong_unique_value(generated, make_secrets):
    env = generated["env"]
    values = [env[name] for name in make_secrets.SECRETS]
    assert all(len(value) >= 32 for value in values)
    assert len(set(values)) == len(values)
    assert env["WEBHOOK_USERNAME"] == "grafana"


def test_keeps_every_other_line_of_the_example(generated):
    example = (ROOT / ".env.example").read_text().splitlines()
    written = generated["env_path"].read_text().splitlines()
    assert len(written) == len(example)
    for before, after in zip(example, written):
        if before != after:
            assert before.endswith("=") and after.startswith(before)


def test_a_second_run_changes_nothing(tmp_path):
    assert run(tmp_path).returncode == 0
    first = {name: (tmp_path / name).read_bytes() for name in (".env", "passwd")}
    second = run(tmp_path)
    assert second.returncode == 0, second.stderr
    assert {name: (tmp_path / name).read_bytes() for name in first} == first
    assert "nothing changed" in second.stdout


def test_only_empty_or_missing_settings_are_filled(tmp_path, make_secrets):
    write_env(
        tmp_path, "# mine\nMQTT_LISTENER_PASSWORD=kept-by-the-user\nGRAFANA_ADMIN_PASSWORD=\n"
        "MQTT_HOST=broker.lan\nMY_OWN_SETTING=1\n")
    assert run(tmp_path).returncode == 0
    text = (tmp_path / ".env").read_text()
    env = make_secrets.parse_env(text)
    assert text.startswith("# mine\nMQTT_LISTENER_PASSWORD=kept-by-the-user\n")
    assert env["MQTT_LISTENER_PASSWORD"] == "kept-by-the-user"
    assert env["MQTT_HOST"] == "broker.lan"
    assert env["MY_OWN_SETTING"] == "1"
    assert len(env["GRAFANA_ADMIN_PASSWORD"]) >= 32
    assert all(env.get(name) for name in make_secrets.SECRETS)
    assert env["LISTENER_SPOOL_DIR"] == "./spool"  # a missing setting arrives with its default
    assert text.count("MQTT_LISTENER_PASSWORD=") == 1


def test_files_are_private_and_passwords_are_hashed(generated):
    for path in (generated["env_path"], generated["passwd_path"]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    passwd = generated["passwd_path"].read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == \
        ["listener", "listener-stats", "webhook", "opcua-bridge", "actions", "console"]
    for name in ("MQTT_LISTENER_PASSWORD", "MQTT_OPCUA_BRIDGE_PASSWORD"):
        assert generated["env"][name] not in passwd
    assert all(line.split(":", 1)[1].startswith("$7$101$") for line in passwd.splitlines())


def test_a_changed_password_is_hashed_again_and_the_others_kept(tmp_path, make_secrets):
    assert run(tmp_path).returncode == 0
    before = (tmp_path / "passwd").read_text().splitlines()
    env_text = (tmp_path / ".env").read_text()
    old = make_secrets.parse_env(env_text)["MQTT_WEBHOOK_PASSWORD"]
    (tmp_path / ".env").write_text(env_text.replace(old, "a-new-webhook-password"))
    assert run(tmp_path).returncode == 0
    after = (tmp_path / "passwd").read_text().splitlines()
    assert [a == b for a, b in zip(before, after)] == [True, True, False, True, True, True]
    assert make_secrets.password_matches(after[2].split(":", 1)[1], "a-new-webhook-password")


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd missing")
def test_reads_hashes_made_by_mosquitto_passwd(tmp_path, make_secrets):
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "alice", "s3cret"], check=True,
                   capture_output=True, timeout=30)
    encoded = path.read_text().strip().split(":", 1)[1]
    assert make_secrets.password_matches(encoded, "s3cret")
    assert not make_secrets.password_matches(encoded, "s3cret2")


@pytest.mark.parametrize("encoded", [
    "", "$6$abc$def", "$7$x$AAAA$AAAA", "$7$101$not base64!$AAAA", "$7$0$AAAA$AAAA", "plain",
], ids=["empty", "sha512-crypt", "bad-iterations", "bad-salt", "zero-iterations", "plain-text"])
def test_unusable_hashes_never_match(make_secrets, encoded):
    assert not make_secrets.password_matches(encoded, "plain")


def test_refuses_without_the_example(tmp_path):
    result = run(tmp_path, "--example", str(tmp_path / "missing.example"))
    assert result.returncode == 2
    assert "missing.example is missing" in result.stderr
    assert not (tmp_path / ".env").exists()


def test_the_retired_shared_board_users_are_removed_and_said_so(tmp_path, make_secrets):
    (tmp_path / "passwd").write_text(
        f"sensor:{make_secrets.hash_password('old')}\n"
        f"esp32-a1b2c3:{make_secrets.hash_password('board')}\n"
        f"indicator:{make_secrets.hash_password('old')}\n")
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    users = [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()]
    assert users == ["listener", "listener-stats", "webhook", "opcua-bridge", "actions", "console",
                     "esp32-a1b2c3"]
    assert "removed the shared board users sensor, indicator" in result.stdout


def test_refuses_an_env_others_can_read(tmp_path):
    assert run(tmp_path).returncode == 0
    (tmp_path / ".env").chmod(0o644)
    before = {name: (tmp_path / name).read_bytes() for name in (".env", "passwd")}
    result = run(tmp_path)
    assert result.returncode == 2
    assert "readable by other users (mode 644)" in result.stderr
    assert f"chmod 600 {tmp_path / '.env'}" in result.stderr
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    (tmp_path / ".env").chmod(0o600)
    result = run(tmp_path)
    assert result.returncode == 0 and "readable" not in result.stderr


@pytest.mark.parametrize("name", ["WEBHOOK_PASSWORD", "ACK_PASSWORD", "INGEST_PASSWORD",
                                  "MQTT_WEBHOOK_PASSWORD"])
def test_refuses_a_hand_set_password_that_is_short(tmp_path, name):
    write_env(tmp_path, f"{name}=short\n")
    result = run(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"make secrets: {name} in .env are shorter than 16 ")
    assert (tmp_path / ".env").read_text() == f"{name}=short\n"
    assert not (tmp_path / "passwd").exists()


def test_the_services_broker_users_are_the_services_client_ids(make_secrets):
    from service_common import service_ids
    # And the listener's second connection, for the broker's $SYS counters (docs/listener.md).
    assert set(make_secrets.MQTT_USERS) == {*service_ids.ALL, "listener-stats"}


def test_the_ack_and_ingest_passwords_are_generated_and_keep_them_off(generated):
    """A password alone keeps /ack and /ingest off: the user names turn them on."""
    from webhook.config import read_config
    env = generated["env"]
    assert len(env["ACK_PASSWORD"]) >= 32 and len(env["INGEST_PASSWORD"]) >= 32
    config = read_config({**env, "MQTT_HOST": "127.0.0.1"})
    assert config.ack_username is None and config.ingest.env_user is None


@pytest.mark.parametrize("value", ["pa$$word", "abc#def", "it's", 'say"hi"', "back\\slash",
                                   "two words", "${HOME}"])
def test_refuses_a_hand_set_password_compose_would_read_differently(tmp_path, value):
    write_env(tmp_path, f"MQTT_WEBHOOK_PASSWORD={value}\n")
    result = run(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("make secrets: MQTT_WEBHOOK_PASSWORD in .env contain")
    assert result.stderr.count("\n") == 1
    assert (tmp_path / ".env").read_text() == f"MQTT_WEBHOOK_PASSWORD={value}\n"
    assert not (tmp_path / "passwd").exists()


def test_a_quoted_plain_password_is_accepted(tmp_path, make_secrets):
    write_env(tmp_path, 'MQTT_WEBHOOK_PASSWORD="plain-password_1"\n')
    assert run(tmp_path).returncode == 0
    line = next(line for line in (tmp_path / "passwd").read_text().splitlines()
                if line.startswith("webhook:"))
    assert make_secrets.password_matches(line.split(":", 1)[1], "plain-password_1")


def test_a_read_only_folder_fails_with_one_sentence(tmp_path, monkeypatch, make_secrets):
    """Root can write a chmod 555 folder, so the read-only file system is simulated where the
    script creates its files (the test runs as root in CI)."""
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(make_secrets.tempfile, "mkstemp", read_only)
    with pytest.raises(make_secrets.SecretsError) as refused:
        make_secrets.make_secrets(tmp_path / ".env", ROOT / ".env.example", tmp_path / "passwd")
    assert str(refused.value) == (f"cannot write {tmp_path / '.env'}: Read-only file system "
                                  f"(is {tmp_path} read-only or someone else's?)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_fails_with_one_sentence_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    result = subprocess.run([sys.executable, str(SCRIPT), "--env", str(folder / ".env"),
                             "--passwd", str(folder / "passwd")], capture_output=True, text=True,
                            timeout=60)
    folder.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr.startswith(f"make secrets: cannot write {folder / '.env'}")
    assert result.stderr.count("\n") == 1


def test_makes_the_folders_compose_mounts_as_the_user(tmp_path, make_secrets):
    """Else docker makes them as root on the first `up` (and secrets/ with them)."""
    (tmp_path / "root" / "opcua").mkdir(parents=True)
    (tmp_path / "root" / "opcua" / "opcua-nodes.yaml").write_text("nodes: []\n")
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    for name in make_secrets.MOUNTED_FOLDERS:
        folder = tmp_path / "root" / name
        assert folder.is_dir() and folder.stat().st_uid == os.getuid(), name
    assert (tmp_path / "root" / "opcua" / "opcua-nodes.yaml").read_text() == "nodes: []\n"
    assert "made the folders secrets/tls, secrets/opcua/trusted" in done.stdout
    assert "made the folders" not in run(tmp_path).stdout


def test_a_written_file_is_fsynced_then_its_folder(tmp_path, make_secrets, monkeypatch):
    """Durable, as a power cut right after `make secrets` or `make device` needs: the new file's
    data, then the folder that names it."""
    from tests.support.fsyncs import record_fsyncs

    synced = record_fsyncs(monkeypatch)
    path = tmp_path / "secrets" / "passwd"
    make_secrets.write_private(path, "a:b\n")
    assert synced == [(False, path.stat().st_ino), (True, path.parent.stat().st_ino)]
    assert path.read_text() == "a:b\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
