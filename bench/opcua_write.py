"""OPC UA writes through the bridge: from a write request published on
`opcua/<bridge id>/write/<device>/<measurement>` to its confirmation, the value coming back as
the reading `sensors/<device>/<measurement>` (the test server's User1; publishing interval 100
ms, sampling 50 ms: the floor of the round trip)."""

import json
import tempfile
import time

from bench.figures import report_latencies
from bench.opcua_bridge import bridge
from devstack.mqtt_probe import Probe
from devstack.servers import Mosquitto, OpcUaServer
from devstack.wait import wait_until

WRITES = 40
NODES = """publishing_interval_ms: 100
sampling_interval_ms: 50
nodes:
  - {node: "ns=2;s=Simulation Examples.Functions.User1", device: bench, measurement: user1,
     writable: true, min: 0, max: 1000}
"""


def main():
    print(f"  {WRITES} writes of User1, each waited for")
    delays = []
    with tempfile.TemporaryDirectory(prefix="bench-write-") as workdir, \
            Mosquitto() as broker, OpcUaServer(security="none") as server, \
            Probe(broker.host, broker.port, ["sensors/bench/user1"]) as probe:
        with bridge(server, broker, NODES, workdir):
            wait_until(lambda: probe.payloads("sensors/bench/user1"), 60)

            def confirmed(value):
                return any(json.loads(p)["value"] == value
                           for p in probe.payloads("sensors/bench/user1"))

            for i in range(1, WRITES + 1):
                started = time.monotonic()
                probe.publish("opcua/opcua-bridge/write/bench/user1", str(i))
                wait_until(lambda i=i: confirmed(float(i)), 30, interval=0.002)
                delays.append(time.monotonic() - started)
    report_latencies("write request -> confirming reading", delays)


if __name__ == "__main__":
    main()
