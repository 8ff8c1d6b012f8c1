"""`python -m console` as a process: bad settings end it with status 2 and one message; SIGTERM
stops it cleanly (status 0, its MQTT link closed, `stopped` logged)."""

import subprocess
import sys

from devstack.paths import ROOT
from devstack.wait import wait_until
from tests.support.console import ConsoleServer


def test_bad_settings_exit_2_naming_them():
    result = subprocess.run([sys.executable, "-m", "console"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("console: invalid configuration:")
    assert "CONSOLE_SECRET_KEY is required" in result.stderr


def test_sigterm_stops_it_cleanly(mosquitto):
    console = ConsoleServer(mosquitto)
    try:
        console.start()
        # SIGTERM is handled from before this line on.
        wait_until(lambda: "serving on" in console.log_tail(), 30, message="never served")
        console.stop()
        assert console.process.returncode == 0, console.log_tail()
        assert console.log_tail(3).endswith("console: stopped")
    finally:
        console.close()
