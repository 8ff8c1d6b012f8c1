"""`make demo` as a user runs it: the whole loop, the operator's button press included, every
process stopped at the end."""

import os
import subprocess
import sys

import pytest

from devstack.loop import FIRMWARE_BUILD
from devstack.paths import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_the_demo_shows_the_annunciator_sequence():
    if not (FIRMWARE_BUILD / "indicator-sim").exists():
        missing = "indicator-sim missing: run `make firmware`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(missing)
        pytest.skip(missing)
    result = subprocess.run([sys.executable, "-m", "devstack.demo", "--timeout", "60"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    leds = [line.split()[1] for line in result.stdout.splitlines()
            if line.strip().startswith("LED ")]
    assert leds[-3:] == ["red-flashing", "red", "green"], result.stdout
    assert "stopped every process" in result.stdout
