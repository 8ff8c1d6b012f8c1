"""Shared helpers for the deployment tests: the repository's files and a generated `.env`."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="session")
def make_secrets():
    return load_script("make_secrets")


@pytest.fixture(scope="session")
def devices():
    return load_script("devices")


@pytest.fixture
def generated(tmp_path, make_secrets):
    """A `.env` and broker password file made by `make secrets`, in a temporary folder."""
    env_path, passwd_path = tmp_path / ".env", tmp_path / "passwd"
    make_secrets.make_secrets(env_path, ROOT / ".env.example", passwd_path)
    return {
        "env_path": env_path,
        "passwd_path": passwd_path,
        "env": make_secrets.parse_env(env_path.read_text()),
    }


def find_tool(name):
    """The tool's path: the venv's own first, then PATH; None when it is nowhere."""
    return shutil.which(name, path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))


def require_tool(name, install_hint):
    """The tool's path. When it is missing the test is skipped, and in CI (CI=true) it fails."""
    path = find_tool(name)
    if path is None:
        message = f"{name} is not installed ({install_hint})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path
