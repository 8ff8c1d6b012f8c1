"""The actions service's broker rights on the real mosquitto, set up as deployed (the shipped ACL,
`make secrets`, boards from `make device`) plus the block `python -m actions --acl` prints for
an actions file: it writes only its outputs' command topics, its state, journal, readings and
status; it reads the alarm state, the overrides and its devices' states."""

import subprocess
import sys

import pytest

from devstack.paths import ROOT
from tests.deploy.test_broker import (  # noqa: F401 - the broker fixture
    INDICATOR,
    SENSOR,
    assemble_auth,
    broker,
    delivered,
    readable,
)

ACTIONS_FILE = """outputs:
  - {id: fan, kind: tasmota, topic: plug, follows: [alerts/pot-high]}
  - {id: relay, kind: board, device: shed-board, follows: [alerts/pot-high]}
"""


@pytest.fixture
def actions_broker(broker, generated, tmp_path):  # noqa: F811
    path = tmp_path / "actions.yaml"
    path.write_text(ACTIONS_FILE)
    block = subprocess.run([sys.executable, "-m", "actions", "--acl"], capture_output=True,
                           text=True, check=True, cwd=ROOT, timeout=60,
                           env={"ACTIONS_FILE": str(path)}).stdout
    with open(broker.config_dir / "devices.acl", "a") as acl:
        acl.write("\n" + block)
    assemble_auth(broker.config_dir, broker.auth_dir)
    broker.restart()
    broker.passwords["actions"] = generated["env"]["MQTT_ACTIONS_PASSWORD"]
    return broker


def test_the_acl_block_names_the_outputs_topics(tmp_path):
    path = tmp_path / "actions.yaml"
    path.write_text(ACTIONS_FILE)
    block = subprocess.run([sys.executable, "-m", "actions", "--acl"], capture_output=True,
                           text=True, check=True, cwd=ROOT, timeout=60,
                           env={"ACTIONS_FILE": str(path)}).stdout.splitlines()
    assert block[1] == "user actions"
    assert "topic write cmnd/plug/POWER1" in block
    assert "topic write actuators/shed-board/1/set" in block
    assert [line for line in block if line.startswith("topic write")] == [
        "topic write cmnd/plug/POWER1", "topic write actuators/shed-board/1/set"]


@pytest.mark.parametrize("publisher, topic, allowed", [
    ("actions", "cmnd/plug/POWER1", True),
    ("actions", "actuators/shed-board/1/set", True),
    ("actions", "actions/fan/state", True),
    ("actions", "journal/actions", True),
    ("actions", "status/actions", True),
    ("actions", "sensors/fan/output_commanded", True),
    ("actions", "sensors/fan/output_mode", True),
    ("actions", "sensors/actions/override_refused", True),
    ("actions", "cmnd/other/POWER1", False),
    ("actions", "cmnd/plug/Restart", False),
    ("actions", "opcua/opcua-bridge/write/tic101/sp", False),
    ("actions", "actions/fan/mode/set", False),
    ("actions", "journal/console", False),
    ("actions", "sensors/fan/pot", False),
    ("actions", "alerts/pot-high", False),
    ("actions", "status/webhook", False),
    (SENSOR, "actuators/shed-board/1/set", False),
    (SENSOR, "cmnd/plug/POWER1", False),
    (INDICATOR, "actuators/shed-board/1/set", False),
    (INDICATOR, "actions/fan/mode/set", False),
    ("webhook", "actuators/shed-board/1/set", False),
    ("listener", "actions/fan/state", False),
], ids=lambda value: str(value))
def test_who_may_command_outputs(actions_broker, publisher, topic, allowed):
    assert delivered(actions_broker, publisher, topic) == allowed


@pytest.mark.parametrize("topic_filter, topic, allowed", [
    ("alerts/#", "alerts/pot-high/esp32-shed/annunciator", True),
    ("status/webhook", "status/webhook", True),
    ("actions/+/mode/set", "actions/fan/mode/set", True),
    ("stat/plug/POWER1", "stat/plug/POWER1", True),
    ("tele/plug/LWT", "tele/plug/LWT", True),
    ("actuators/+/+/state", "actuators/shed-board/1/state", True),
    ("sensors/+/+", f"sensors/{SENSOR}/pot", False),
    ("stat/other/POWER1", "stat/other/POWER1", False),
], ids=lambda value: str(value))
def test_what_actions_reads(actions_broker, topic_filter, topic, allowed):
    assert readable(actions_broker, "actions", topic_filter, topic) == allowed
