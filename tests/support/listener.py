"""The real `python -m listener` as the tests run it, and the broker settings it is tested with."""

import sys
from pathlib import Path

from devstack.servers import Service

# The broker settings the README (Listener) recommends (mosquitto's default max_queued_messages of
# 1000 drops the rest of a burst); max_inflight_messages stays at its default of 20 so the
# tests exercise the listener's handling of a small window. $SYS counters every second.
BROKER_CONFIG = """\
max_queued_messages 100000
queue_qos0_messages true
sys_interval 1
"""


class RunningListener:
    """One listener process; start/restart/kill wait until it says `online` again."""

    def __init__(self, name, env, probe, workdir):
        self.name = name
        self.status_topic = f"status/{name}"
        self.probe = probe
        self._online_before = 0
        self.spool_dir = Path(env["LISTENER_SPOOL_DIR"])
        self.service = Service(name, [sys.executable, "-m", "listener"], env=env,
                               ready=self._came_online, workdir=workdir)

    def _online_count(self):
        return self.probe.payloads(self.status_topic).count(b"online")

    def _came_online(self):
        return self._online_count() > self._online_before

    def start(self):
        self._online_before = self._online_count()
        self.service.start()
        return self

    def kill(self):
        self.service.kill()

    def stop(self):
        self.service.stop()
        return self.service.returncode

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        return self.service.log_tail(60)
