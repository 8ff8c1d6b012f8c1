"""What the project needs but this machine lacks: skipped here, a failure in CI (CI=true), where
`make test` must have installed everything."""

import os

import pytest


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(message):
    """Skip the test for `message`, or fail it in CI."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
