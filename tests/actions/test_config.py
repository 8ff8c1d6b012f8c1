"""The actions file and the environment: validated before any I/O, every problem in one error."""

import subprocess
import sys

import pytest
import yaml

from actions.config import parse_actions, read_settings
from devstack.paths import ROOT
from service_common.config import ConfigError


def problems_of(document):
    problems = []
    parse_actions(document, problems, where="f")
    return problems


def board(**extra):
    return {"id": "fan", "kind": "board", "device": "b1", "follows": ["alerts/pot-high"], **extra}


def test_the_example_is_valid_and_shows_every_kind(tmp_path):
    settings = read_settings({"ACTIONS_FILE": str(ROOT / "actions.example.yaml")})
    assert {o.kind for o in settings.outputs} == {"board", "tasmota", "shelly", "mqtt", "opcua"}
    horn = next(o for o in settings.outputs if o.id == "shed-horn")
    assert horn.follows[0].on == ("unacked",) and horn.safe_state == "hold"


@pytest.mark.parametrize("entry, expected", [
    ({**board(), "id": "Bad Id"}, "id 'Bad Id' must be"),
    ({**board(), "kind": "relay"}, "kind 'relay' must be one of"),
    (board(follows=[]), "follows must be a list of alert topics (at least one)"),
    (board(follows=["alerts/#"]), "must be a topic without wildcards"),
    (board(safe_state="maybe"), "safe_state 'maybe' must be one of off, on, hold"),
    (board(relay=0), "relay 0 must be an integer from 1 to 64"),
    (board(min_on_s=-1), "min_on_s -1 must be from 0"),
    (board(colour="red"), "unknown key 'colour'"),
    (board(follows=[{"topic": "alerts/a/annunciator", "when": ["red"]}]), "annunciator topic's"),
    (board(interlock={"outputs": ["nobody"]}), "names 'nobody', which is no output"),
    ({"id": "hv", "kind": "mqtt", "command_topic": "/hv/cmd", "on_value": 5, "off_value": 0,
      "min": 0, "max": 3, "follows": ["alerts/a"]}, "on_value 5 is outside [0, 3]"),
    ({"id": "sp", "kind": "opcua", "device": "tic101", "measurement": "sp",
      "follows": ["alerts/a"]}, "on_value is required for a numeric output"),
    ({"id": "m", "kind": "mqtt", "command_topic": "x", "command_template": "v",
      "follows": ["alerts/a"]}, "must contain {value}"),
], ids=["bad-id", "bad-kind", "no-follows", "wildcard", "safe-state", "relay", "negative-time",
        "unknown-key", "annunciator-state", "interlock-unknown", "value-outside-limits",
        "opcua-without-values", "template-without-value"])
def test_a_bad_entry_is_named(entry, expected):
    problems = problems_of({"outputs": [entry]})
    assert any(expected in p for p in problems), problems


def test_every_problem_is_named_at_once():
    problems = problems_of({"outputs": [board(safe_state="x"), {**board(), "id": "fan"},
                                        {"id": "t", "kind": "tasmota", "follows": "alerts/a"}]})
    assert len(problems) >= 3
    assert any("used twice" in p for p in problems)
    assert any("topic None must be one topic level" in p for p in problems)


def test_unquoted_off_is_off():
    _, outputs = parse_actions(yaml.safe_load("outputs:\n- {id: a, kind: board, device: b, "
                                              "follows: [alerts/x], safe_state: off}"), [])
    assert outputs[0].safe_state == "off"


def test_two_outputs_on_one_relay_are_refused():
    problems = problems_of({"outputs": [board(), {**board(), "id": "fan2"}]})
    assert any("drive the same device" in p for p in problems)


def test_environment_problems_and_file_problems_together(tmp_path):
    path = tmp_path / "actions.yaml"
    path.write_text("outputs: [{id: a, kind: nope}]\n")
    with pytest.raises(ConfigError) as error:
        read_settings({"ACTIONS_FILE": str(path), "MQTT_PORT": "0"})
    text = str(error.value)
    assert "MQTT_PORT" in text and "kind 'nope'" in text


def test_bad_file_exits_2_with_one_error_and_touches_nothing(tmp_path):
    path = tmp_path / "actions.yaml"
    path.write_text("outputs:\n- {id: a, kind: board, follows: [alerts/x], relay: 99}\n"
                    "- {id: b, kind: tasmota, topic: t, follows: []}\n")
    state = tmp_path / "state"
    result = subprocess.run([sys.executable, "-m", "actions"], capture_output=True, text=True,
                            env={"ACTIONS_FILE": str(path), "ACTIONS_STATE_DIR": str(state),
                                 "MQTT_PORT": "1"}, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("actions: invalid configuration:")
    for expected in ("device None", "relay 99", "follows must be"):
        assert expected in result.stderr
    assert not state.exists()


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError) as error:
        read_settings({"ACTIONS_FILE": str(tmp_path / "nope.yaml")})
    assert "cannot read it" in str(error.value)


def test_healthcheck_follows_the_heartbeat_file(tmp_path):
    heartbeat = tmp_path / "actions.heartbeat"

    def healthcheck():
        return subprocess.run([sys.executable, "-m", "actions", "--healthcheck"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env={"ACTIONS_HEARTBEAT": str(heartbeat)})

    missing = healthcheck()
    assert missing.returncode == 1 and "no heartbeat file" in missing.stderr
    heartbeat.touch()
    assert healthcheck().returncode == 0
