"""The fixtures of every test that runs the broker as deployed (tests/deploy, tests/firmware's
ACL rows): its retain plugin, built with the host's compiler."""

import shutil
import subprocess

import pytest

from devstack.paths import ROOT

PLUGIN_SOURCE = ROOT / "mosquitto" / "plugin" / "alertloop_retain.c"


@pytest.fixture(scope="session")
def retain_plugin(tmp_path_factory):
    """The alertloop_retain broker plugin built with the host's compiler and mosquitto headers
    (Debian's mosquitto-dev), as mosquitto/Dockerfile builds it for the image."""
    compiler = shutil.which("cc") or pytest.fail("no C compiler: make deps")
    built = tmp_path_factory.mktemp("plugin") / "alertloop_retain.so"
    subprocess.run([compiler, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-shared", "-fPIC", "-O2",
                    "-Wall", "-Wextra", "-Werror", "-o", str(built), str(PLUGIN_SOURCE)],
                   check=True, capture_output=True, timeout=120)
    return built
