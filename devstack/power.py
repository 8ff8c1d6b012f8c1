"""A power cut for the native stack: every process killed with SIGKILL at the same instant (no
process saves anything, closes a connection or sends a Last Will it was not already sending),
then each started again from the same data folders, as after the power comes back.

    power.cut(broker, influxdb, listener.service)     # all at once
    power.restore(broker, influxdb, listener.service)  # in this order, each waits until ready
"""

import os
import signal


def cut(*servers):
    """SIGKILL every running server's process group in one go, then reap them; the servers
    that were running, in the order given."""
    live = [server for server in servers if server.running]
    for server in live:
        try:
            os.killpg(server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for server in live:
        server.process.wait(10)
    return live


def restore(*servers):
    """Start `servers` again in order (their data folders are kept), each waiting until
    ready."""
    for server in servers:
        server.start()
