"""The project's scripts and tools as the tests find them: scripts/ loaded as modules, and the
tools `make venv` installed."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from devstack.paths import ROOT
from tests.support.ci import missing

# Where `make venv` installs the project's tools (hadolint, shellcheck): next to the Python
# running the tests, which is not on PATH when the Makefile runs `.venv/bin/python -m pytest`.
VENV_BIN = Path(sys.executable).parent


def load_script(name):
    """scripts/<name>.py as a module (scripts/ is no package: it runs before any venv)."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_tool(name):
    """The tool's path: the venv's own first, then PATH; None when it is nowhere."""
    return shutil.which(name, path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))


def require_tool(name, install_hint):
    """The tool's path. When it is missing the test is skipped, and in CI (CI=true) it fails."""
    path = find_tool(name)
    if path is None:
        missing(f"{name} is not installed ({install_hint})")
    return path
