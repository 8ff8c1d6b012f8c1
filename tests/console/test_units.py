"""The console's pure parts: settings, users file, login throttle, the alarm board."""

import json

import pytest

from console.alarms import AlarmBoard, parse_topic
from console.config import read_config
from console.throttle import Throttle
from console.users import UserError, Users, add_user, main, read_file, remove_user
from service_common.config import ConfigError
from tests.support.console import SECRET_KEY, info


def test_config_names_every_problem_before_any_io():
    with pytest.raises(ConfigError) as error:
        read_config({"CONSOLE_SECRET_KEY": "short", "CONSOLE_PORT": "70000",
                     "CONSOLE_SHELVE_MAX_S": "10", "CONSOLE_COOKIE_SECURE": "maybe"})
    text = str(error.value)
    for name in ("CONSOLE_SECRET_KEY", "CONSOLE_PORT", "CONSOLE_SHELVE_MAX_S",
                 "CONSOLE_COOKIE_SECURE"):
        assert name in text


def test_config_defaults():
    config = read_config({"CONSOLE_SECRET_KEY": SECRET_KEY})
    assert config.mqtt.client_id == "console"
    assert config.cookie_secure and config.shelve_max_s == 8 * 3600
    assert config.host == "127.0.0.1"


def test_users_file_is_hashed_and_atomic(tmp_path):
    path = tmp_path / "users.json"
    password = add_user(path, "alice", "operator")
    text = path.read_text()
    assert password not in text and "scrypt:" in text
    users = Users(path)
    assert users.check("alice", password) == "operator"
    assert users.check("alice", "wrong") is None
    assert users.check("nobody", password) is None
    add_user(path, "alice", "viewer", "new-password")
    assert users.role("alice") == "viewer"  # re-read: no restart needed
    remove_user(path, "alice")
    assert users.role("alice") is None
    assert not list(tmp_path.glob(".users.json-*"))


@pytest.mark.parametrize("name, role", [("bad name", "viewer"), ("<script>", "viewer"),
                                        ("bob", "admin"), ("", "viewer")])
def test_bad_users_are_refused(tmp_path, name, role):
    with pytest.raises(UserError):
        add_user(tmp_path / "users.json", name, role)


def test_users_command_prints_a_password(tmp_path, capsys):
    path = tmp_path / "u.json"
    assert main(["--file", str(path), "add", "carl", "engineer"]) == 0
    password = capsys.readouterr().out.rsplit("password: ", 1)[1].strip()
    assert Users(path).check("carl", password) == "engineer"
    assert main(["--file", str(path), "remove", "nobody"]) == 2


def test_malformed_users_file_is_refused(tmp_path):
    path = tmp_path / "u.json"
    path.write_text(json.dumps({"users": {"x": {"role": "root", "hash": "h"}}}))
    with pytest.raises(UserError, match="malformed"):
        read_file(path)


def test_throttle_allows_a_few_tries_a_minute_per_key():
    now = [0.0]
    throttle = Throttle(3, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("user:a", "addr:1") == 0
        throttle.failed("user:a", "addr:1")
    assert throttle.retry_after("user:a") == pytest.approx(60)
    assert throttle.retry_after("user:b", "addr:1") > 0  # the same address, another name
    assert throttle.retry_after("user:b", "addr:2") == 0
    now[0] = 60.0
    assert throttle.retry_after("user:a", "addr:1") == 0


def test_throttle_memory_is_bounded():
    throttle = Throttle(1, max_keys=100)
    for i in range(1000):
        throttle.failed(f"addr:{i}")
    assert len(throttle._failures) == 100


def test_topics():
    assert parse_topic("alerts/pot-high/info", "alerts") == ("pot-high", None, "info")
    assert parse_topic("alerts/pot-high/esp/annunciator", "alerts") == ("pot-high", "esp",
                                                                        "annunciator")
    for topic in ("alerts/pot-high", "alerts/_webhook/webhook/state", "alerts/a/ack/info",
                  "other/a/info", "alerts/a/b/c/info", "alerts/a/shelve/console"):
        assert parse_topic(topic, "alerts") is None


def test_board_lists_unacknowledged_first_and_suppressed_apart():
    board = AlarmBoard()
    board.message("alerts/a/d1/info", info("a", "d1", "acked", since=1000).encode())
    board.message("alerts/b/d2/info", info("b", "d2", "unacked", since=500).encode())
    board.message("alerts/c/info", info("c", None, "normal").encode())
    board.message("alerts/e/info", info("e", None, "shelved", shelved={
        "by": "console:olga", "reason": "r", "until": 5, "kind": "shelved"}).encode())
    board.message("alerts/a/info", info("a", None, "acked").encode())  # follows d1: not listed
    listed = board.alarms()
    assert [a.ident for a in listed] == ["b/d2", "a/d1", "e"]
    assert listed[-1].suppressed and listed[-1].shelved["by"] == "console:olga"


def test_board_falls_back_to_the_annunciator_and_forgets_deleted_topics():
    board = AlarmBoard()
    assert board.message("alerts/a/d/annunciator", b"unacked")
    assert board.alarms()[0].state == "unacked"
    assert board.message("alerts/a/d/info", info("a", "d", "acked", value=3.5).encode())
    assert board.alarms()[0].value == 3.5  # info wins over the bare state
    assert board.message("alerts/a/d/info", b"")
    assert board.alarms()[0].state == "unacked"
    assert board.message("alerts/a/d/annunciator", b"")
    assert board.alarms() == []


@pytest.mark.parametrize("payload", [b"{", b"[]", b'{"state": "weird"}', b"\xff", b"bogus"])
def test_board_counts_bad_messages(payload):
    board = AlarmBoard()
    topic = "alerts/a/info" if payload != b"bogus" else "alerts/a/annunciator"
    assert not board.message(topic, payload)
    assert board.bad_messages == 1 and board.alarms() == []


def test_the_opcua_settings_are_the_connection_only():
    """OPCUA_ENDPOINT turns tag mapping on; the console reads the connection settings
    (service_common.opcua.connection), not the bridge's, and names their problems."""
    from service_common.opcua.connection import OpcuaConnection

    base = {"CONSOLE_SECRET_KEY": SECRET_KEY}
    assert read_config(base).opcua is None
    opcua = read_config({**base, "OPCUA_ENDPOINT": "opc.tcp://plc:4840/",
                         "OPCUA_NODES": "/config/opcua/opcua-nodes.yaml"}).opcua
    assert type(opcua) is OpcuaConnection
    assert str(opcua.nodes_path) == "/config/opcua/opcua-nodes.yaml"
    with pytest.raises(ConfigError) as error:
        read_config({**base, "OPCUA_ENDPOINT": "http://plc",
                     "OPCUA_SECURITY": "Basic256Sha256,Sign"})
    assert "OPCUA_ENDPOINT" in str(error.value) and "OPCUA_CERT is required" in str(error.value)
    with pytest.raises(ConfigError) as error:
        read_config({**base, "OPCUA_ENDPOINT": "opc.tcp://plc:4840/",
                     "OPCUA_SECURITY": "Basic256Sha256,Sign", "OPCUA_TRUST_DIR": "/",
                     "OPCUA_CERT": "/config/pki/console.der",
                     "OPCUA_KEY": "/config/pki/console-key.pem"})
    assert "OPCUA_CERT='/config/pki/console.der': no such file" in str(error.value)
    assert "--service console" in str(error.value)


def test_a_nodes_file_that_cannot_be_written_is_refused_with_a_message(tmp_path):
    from console import tagmap

    (tmp_path / "a-file").write_text("")
    with pytest.raises(tagmap.MappingError, match="cannot write .*opcua-nodes.yaml"):
        tagmap.save(tmp_path / "a-file" / "opcua-nodes.yaml",
                    {"nodes": [{"node": "ns=2;s=X", "device": "d", "measurement": "m"}]})
