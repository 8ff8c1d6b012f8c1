"""The bridge follows a changed nodes file without a restart (CONTRACTS.md: poll the mtime at
most every 1 s, follow within 5 s); an invalid new file is refused with a logged error and the
old subscriptions stay. The file is replaced atomically, as the console writes it."""

import os

from devstack.wait import wait_until
from tests.support.opcua import SIM


def nodes(*entries):
    return "publishing_interval_ms: 100\nsampling_interval_ms: 50\nnodes:\n" + "".join(
        f'  - {{node: "{SIM}{node}", device: sim, measurement: {measurement}}}\n'
        for node, measurement in entries)


def replace(path, text):
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def test_a_changed_file_is_followed_and_an_invalid_one_refused(opcua_server, bridge_factory):
    bridge = bridge_factory(opcua_server, nodes(("Ramp1", "ramp1")))
    path = __import__("pathlib").Path(bridge.env["OPCUA_NODES"])
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= 3)

    replace(path, nodes(("Random1", "random1")))
    bridge.wait_values("sensors/sim/random1", lambda v: len(v) >= 1)
    ramp = len(bridge.values("sensors/sim/ramp1"))
    seen = len(bridge.values("sensors/sim/random1"))
    bridge.wait_values("sensors/sim/random1", lambda v: len(v) >= seen + 10)
    assert len(bridge.values("sensors/sim/ramp1")) == ramp      # unsubscribed
    assert "now 1 nodes" in bridge.log()

    for bad in ("nodes: [oops", nodes(("Ramp1", "ramp 1")), "spam: 1\n"):
        before = bridge.log().count("changed but is invalid")
        replace(path, bad)
        wait_until(lambda b=before: bridge.log().count("changed but is invalid") > b, 20,
                   message=bridge.log())
    seen = len(bridge.values("sensors/sim/random1"))
    bridge.wait_values("sensors/sim/random1", lambda v: len(v) >= seen + 10)   # old nodes stay
    assert "keeping the 1 nodes in use" in bridge.log()

    replace(path, nodes(("Random1", "random1"), ("Ramp1", "ramp1")))
    ramp = len(bridge.values("sensors/sim/ramp1"))
    bridge.wait_values("sensors/sim/ramp1", lambda v: len(v) >= ramp + 3)
    bridge.wait_counter("reconnects", lambda n: True)  # a report has gone out, however busy
    assert bridge.counter("reconnects") == 0 and bridge.service.running
