"""Fixtures for the deployment tests: the repository's scripts and a generated `.env`."""

import pytest

from devstack.paths import ROOT
from tests.support.tools import load_script


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
