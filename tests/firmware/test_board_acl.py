"""The boards' rights on the real broker, set up as deployed (the shipped acl and options, the
boards' rules from `make device`): acknowledgements name their sender last and the broker lets
each board write them only under its own id (issue 20, B "Forged journal entries"); an actuator
reads only its own commands and writes only its own states, and no other board commands it
(issue 22, item 8)."""

import shutil

import pytest

from devstack.paths import ROOT
from tests.deploy.test_broker import (
    OBSERVER,
    assemble_auth,
    delivered,
    readable,
    shipped_options,
)
from tests.support.tools import load_script

SENSOR, INDICATOR, OTHER_INDICATOR = "esp32-a1b2c3", "esp8266-d4e5f6", "esp8266-e5f6a7"
ACTUATOR, OTHER_ACTUATOR = "relay-shed", "relay-barn"
BOARDS = {SENSOR: "sensor", INDICATOR: "indicator", OTHER_INDICATOR: "indicator",
          ACTUATOR: "actuator", OTHER_ACTUATOR: "actuator"}


@pytest.fixture
def board_broker(mosquitto_factory, tmp_path):
    devices = load_script("devices")
    config_dir, auth_dir = tmp_path / "config", tmp_path / "auth"
    config_dir.mkdir()
    shutil.copy(ROOT / "mosquitto" / "config" / "acl", config_dir / "acl")
    registry = devices.Registry(config_dir / "passwd", config_dir / "devices.acl",
                                tmp_path / "boards")
    passwords = {name: registry.add(name, role) for name, role in BOARDS.items()}
    with open(config_dir / "passwd", "a") as passwd:
        passwd.write(f"{OBSERVER[0]}:{devices.hash_password(OBSERVER[1])}\n")
    with open(config_dir / "devices.acl", "a") as acl:
        acl.write(f"\nuser {OBSERVER[0]}\ntopic readwrite #\n")
    passwords[OBSERVER[0]] = OBSERVER[1]
    assemble_auth(config_dir, auth_dir)
    server = mosquitto_factory(config="\n".join(
        shipped_options() + [f"password_file {auth_dir}/passwd", f"acl_file {auth_dir}/acl"]))
    server.passwords = passwords
    return server


@pytest.mark.parametrize("publisher, topic, allowed", [
    (INDICATOR, f"alerts/pot-high/ack/{INDICATOR}", True),
    (INDICATOR, f"alerts/pot-high/esp32-a1b2c3/ack/{INDICATOR}", True),
    (INDICATOR, f"alerts/pot-high/ack/{OTHER_INDICATOR}", False),
    (INDICATOR, f"alerts/pot-high/esp32-a1b2c3/ack/{OTHER_INDICATOR}", False),
    (INDICATOR, "alerts/pot-high/ack/console", False),
    (INDICATOR, "alerts/pot-high/ack", False),
    (INDICATOR, "alerts/pot-high/esp32-a1b2c3/ack", False),
    (INDICATOR, "alerts/pot-high/annunciator", False),
    (INDICATOR, "alerts/pot-high/shelve/console", False),
], ids=["own-id", "device-alert-own-id", "another-boards-id", "device-alert-another-id",
        "the-consoles-id", "old-topic-without-id", "old-device-topic", "annunciator",
        "shelve"])
def test_an_indicator_acknowledges_only_under_its_own_id(board_broker, publisher, topic,
                                                         allowed):
    assert delivered(board_broker, publisher, topic) == allowed


@pytest.mark.parametrize("publisher, topic, allowed", [
    (ACTUATOR, f"actuators/{ACTUATOR}/1/state", True),
    (ACTUATOR, f"status/{ACTUATOR}", True),
    (ACTUATOR, f"actuators/{OTHER_ACTUATOR}/1/state", False),
    (ACTUATOR, f"actuators/{ACTUATOR}/1/set", False),
    (ACTUATOR, f"actuators/{OTHER_ACTUATOR}/1/set", False),
    (ACTUATOR, f"sensors/{ACTUATOR}/pot", False),
    (ACTUATOR, "status/actions", False),
    (SENSOR, f"actuators/{ACTUATOR}/1/set", False),
    (INDICATOR, f"actuators/{ACTUATOR}/1/set", False),
    (SENSOR, "cmnd/shed-pump/POWER1", False),
    (INDICATOR, "cmnd/shed-pump/POWER1", False),
], ids=["own-state", "own-status", "another-actuators-state", "own-command",
        "another-actuators-command", "a-reading", "the-actions-status", "sensor-commands",
        "indicator-commands", "sensor-commands-tasmota", "indicator-commands-tasmota"])
def test_an_actuator_writes_only_its_own_states_and_no_board_commands(board_broker, publisher,
                                                                       topic, allowed):
    assert delivered(board_broker, publisher, topic) == allowed


@pytest.mark.parametrize("reader, topic_filter, topic, allowed", [
    (ACTUATOR, f"actuators/{ACTUATOR}/+/set", f"actuators/{ACTUATOR}/1/set", True),
    (ACTUATOR, "status/actions", "status/actions", True),
    (ACTUATOR, "actuators/+/+/set", f"actuators/{OTHER_ACTUATOR}/1/set", False),
    (ACTUATOR, "alerts/#", "alerts/pot-high", False),
    (ACTUATOR, "sensors/#", f"sensors/{SENSOR}/pot", False),
    (SENSOR, "actuators/#", f"actuators/{ACTUATOR}/1/set", False),
], ids=["own-commands", "actions-status", "another-actuators-commands", "alerts", "readings",
        "a-sensor-reading-commands"])
def test_an_actuator_reads_only_its_own_commands(board_broker, reader, topic_filter, topic,
                                                 allowed):
    assert readable(board_broker, reader, topic_filter, topic) == allowed
