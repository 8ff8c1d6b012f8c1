"""`make device` refuses names that would collide with someone else's topics (issue 20, B
"Collisions"): the services' ids, an alert's own topic levels, and the OPC UA bridge's devices
and PID loops. scripts/ runs before any virtualenv, so it keeps a copy of the service ids."""

import subprocess
import sys

import pytest

from devstack.paths import ROOT
from service_common import service_ids
from tests.support.tools import load_script

SCRIPT = ROOT / "scripts" / "devices.py"


def add(tmp_path, name, *extra):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "add", name, "--role", "sensor", "--passwd",
         str(tmp_path / "passwd"), "--acl", str(tmp_path / "devices.acl"), "--boards",
         str(tmp_path / "devices"), *extra], capture_output=True, text=True, timeout=60)


def test_the_scripts_copy_of_the_service_ids_is_the_table():
    assert load_script("devices").SERVICE_IDS == service_ids.ALL


@pytest.mark.parametrize("name", sorted(service_ids.ALL | {"ack", "shelve", "info"}))
def test_a_service_id_or_a_topic_level_is_refused(tmp_path, name):
    result = add(tmp_path, name, "--nodes", str(tmp_path / "none.yaml"))
    assert result.returncode == 2
    assert "the name of a service, a topic level" in result.stderr
    assert not (tmp_path / "passwd").exists()


@pytest.mark.parametrize("name", ["tic101", "sim"])
def test_a_plc_device_or_loop_of_the_nodes_file_is_refused(tmp_path, name):
    result = add(tmp_path, name, "--nodes", str(ROOT / "opcua-nodes.example.yaml"))
    assert result.returncode == 2
    assert f"NAME='{name}' is a device or loop of the OPC UA bridge" in result.stderr
    assert not (tmp_path / "passwd").exists()


def test_without_a_nodes_file_the_loop_name_is_free(tmp_path):
    assert add(tmp_path, "tic101", "--nodes", str(tmp_path / "none.yaml")).returncode == 0
