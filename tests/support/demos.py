"""The demos (`make demo`, `make demo-plant`) run as a user runs them."""

import subprocess
import sys

from devstack.loop import FIRMWARE_BUILD
from devstack.paths import ROOT
from tests.support.ci import missing


def run_demo(module):
    """(stdout, the LED states it printed) of `python -m <module>`, which must exit 0."""
    if not (FIRMWARE_BUILD / "indicator-sim").exists():
        missing("indicator-sim missing: run `make firmware`")
    result = subprocess.run([sys.executable, "-m", module, "--timeout", "60"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopped every process" in result.stdout
    leds = [line.split()[1] for line in result.stdout.splitlines()
            if line.strip().startswith("LED ")]
    return result.stdout, leds
