"""The board build's settings (issue 20, D): a value of secrets.ini or [topics] that the build
flags cannot carry stops the build with a message naming it, before the compiler sees it; a `%`
is written `%%`, as PlatformIO reads its files like configparser."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from devstack.paths import ROOT
from tests.support.tools import require_tool

SCRIPT = ROOT / "firmware" / "check_secrets.py"


def check(tmp_path, text):
    ini = tmp_path / "secrets.ini"
    ini.write_text(text)
    return subprocess.run([sys.executable, str(SCRIPT), str(ini)], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("value, shown", [
    ("it's", "'"), ('say "hi"', '"'), ("back\\slash", "\\"), ("pa$$", "$"), ("tick`", "`"),
], ids=["single-quote", "double-quote", "backslash", "dollar", "backtick"])
def test_a_value_the_build_flags_cannot_carry_is_named(tmp_path, value, shown):
    result = check(tmp_path, f"[secrets]\nwifi_ssid = net\nwifi_password = {value}\n")
    assert result.returncode == 2
    assert f"secrets.wifi_password contains {shown}," in result.stderr
    assert "wifi_ssid" not in result.stderr


def test_a_lone_percent_says_to_write_it_twice(tmp_path):
    result = check(tmp_path, "[secrets]\nwifi_password = 50%off\n")
    assert result.returncode == 2
    assert "a % in a value must be written %%" in result.stderr


def test_good_values_and_a_doubled_percent_pass(tmp_path):
    result = check(tmp_path, "[secrets]\nwifi_ssid = my net\nwifi_password = 50%%off\n"
                             "[topics]\nalert = alerts/pot-high\n")
    assert result.returncode == 0, result.stderr


def pio_project(tmp_path, secrets):
    project = tmp_path / "firmware"
    project.mkdir()
    for name in ("platformio.ini", "check_secrets.py"):
        (project / name).write_text((ROOT / "firmware" / name).read_text())
    (project / "secrets.ini").write_text(secrets)
    return project


def pio_config(tmp_path, secrets):
    pio = require_tool("pio", "pip install platformio")
    project = pio_project(tmp_path, secrets)
    result = subprocess.run([pio, "project", "config", "--json-output", "-d", str(project)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PLATFORMIO_CORE_DIR": str(tmp_path / "core")})
    assert result.returncode == 0, result.stdout + result.stderr
    return {section: dict(options) for section, options in json.loads(result.stdout)}


def test_platformio_runs_the_check_before_every_board_build_and_reads_percent_as_configparser(
        tmp_path):
    config = pio_config(tmp_path, "[secrets]\nwifi_ssid = net\nwifi_password = 50%%off\n")
    for env in ("env:sensor", "env:indicator", "env:actuator", "env:actuator-esp8266"):
        extra = config.get(env, {}).get("extra_scripts") or config["env"]["extra_scripts"]
        assert "pre:check_secrets.py" in extra
    flags = config["env:sensor"]["build_flags"]
    assert "'-D ALERTLOOP_WIFI_PASSWORD=\"50%off\"'" in flags


def test_the_indicators_leds_and_alerts_and_the_actuators_relays_reach_the_boards(tmp_path):
    config = pio_config(tmp_path, "[secrets]\nwifi_ssid = net\n")
    indicator = config["env:indicator"]["build_flags"]
    assert "'-D ALERTLOOP_LEDS=\"green:5, red:4\"'" in indicator
    assert "'-D ALERTLOOP_FOLLOWS=\"alerts/pot-high:red:1\"'" in indicator
    for env, board in (("env:actuator", "esp32dev"), ("env:actuator-esp8266", "nodemcuv2")):
        assert config[env]["board"] == board
        flags = config[env]["build_flags"]
        assert "'-D ALERTLOOP_RELAY_PINS=\"5, 4\"'" in flags
        assert "'-D ALERTLOOP_SAFE_STATES=\"off\"'" in flags
        assert "'-D ALERTLOOP_FAILSAFE_S=\"30\"'" in flags
        assert "'-D ALERTLOOP_ACTUATORS_ROOT=\"actuators\"'" in flags


class FakeEnv:
    """The two calls check_secrets.py makes on PlatformIO's SCons environment."""

    def __init__(self, config):
        self.config = config

    def GetProjectConfig(self):  # noqa: N802 (SCons' name)
        return self.config

    def Exit(self, code):  # noqa: N802
        raise SystemExit(code)


def test_the_pre_build_step_stops_on_what_platformio_resolved(tmp_path, capsys, monkeypatch):
    require_tool("pio", "pip install platformio")
    from platformio.project.config import ProjectConfig

    project = pio_project(tmp_path, "[secrets]\nwifi_ssid = net\nwifi_password = it's\n")
    monkeypatch.chdir(project)  # a build runs in the project folder, where extra_configs are
    spec = importlib.util.spec_from_file_location("check_secrets", project / "check_secrets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as stopped:
        module.check_build(FakeEnv(ProjectConfig(str(project / "platformio.ini"))))
    assert stopped.value.code == 2
    assert "secrets.wifi_password contains '" in capsys.readouterr().err
