"""Fixtures that run the real `python -m opcua_bridge` against the OPC UA test server
(devstack/opcua_server.py) and the harness's mosquitto."""

import json
import os
import subprocess
import sys
import uuid

import paho.mqtt.client as mqtt
import pytest

from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import OpcUaServer, Service
from devstack.wait import wait_until
from tests.support.servers import starter

pytest.importorskip("asyncua")


@pytest.fixture
def opcua_factory():
    """`opcua_factory(**options)` starts an OpcUaServer (devstack.servers) and closes it."""
    yield from starter(OpcUaServer)


@pytest.fixture
def opcua_server(opcua_factory):
    return opcua_factory(security="none")


class PersistentProbe(Probe):
    """A Probe with a persistent session: the broker keeps what arrives while it is away,
    even across a broker restart (persistence is on)."""

    def __init__(self, host, port, topics):
        super().__init__(host, port, topics)
        callbacks = self.client
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"probe-{uuid.uuid4().hex[:8]}", clean_session=False)
        for name in ("on_connect", "on_subscribe", "on_message"):
            setattr(self.client, name, getattr(callbacks, name))
        self.client.reconnect_delay_set(0.05, 0.5)


@pytest.fixture
def probe(mosquitto):
    with PersistentProbe(mosquitto.host, mosquitto.port, ["sensors/#", "status/#"]) as probe:
        yield probe


class Bridge:
    """One bridge process; `values(topic)` are the reading values it published there."""

    def __init__(self, service, probe, client_id, env):
        self.service, self.probe, self.client_id, self.env = service, probe, client_id, env

    def healthcheck(self):
        return subprocess.run([sys.executable, "-m", "opcua_bridge", "--healthcheck"],
                              env={**os.environ, **self.env}, capture_output=True,
                              timeout=60).returncode

    def readings(self, topic):
        return [json.loads(payload) for payload in self.probe.payloads(topic)]

    def values(self, topic):
        return [reading["value"] for reading in self.readings(topic)]

    def counter(self, name):
        found = self.values(f"sensors/{self.client_id}/{name}")
        return found[-1] if found else None

    def wait_counter(self, name, check, timeout=20):
        return wait_until(lambda: self.counter(name) is not None and check(self.counter(name)),
                          timeout, message=f"counter {name}={self.counter(name)}\n{self.log()}")

    def wait_values(self, topic, check, timeout=20):
        wait_until(lambda: check(self.values(topic)), timeout,
                   message=f"{topic}: {self.values(topic)[-20:]}\n{self.log()}")
        return self.values(topic)

    def log(self):
        return self.service.log_tail(40)


@pytest.fixture
def bridge_factory(mosquitto, probe, tmp_path):
    """`bridge_factory(server, nodes_yaml, **env)` starts a bridge, waits for `online`."""
    started = []

    def start(server, nodes, client_id="opcua-bridge", wait_online=True, **env):
        nodes_path = tmp_path / f"nodes-{len(started)}.yaml"
        nodes_path.write_text(nodes)
        values = {
            "PYTHONPATH": str(ROOT),
            "OPCUA_ENDPOINT": server.endpoint,
            "OPCUA_NODES": str(nodes_path),
            "OPCUA_CLIENT_ID": client_id,
            "OPCUA_STATS_INTERVAL": "0.5",
            "OPCUA_RECONNECT_MAX": "2",
            "OPCUA_HEARTBEAT": str(tmp_path / f"heartbeat-{len(started)}"),
            "MQTT_HOST": mosquitto.host,
            "MQTT_PORT": str(mosquitto.port),
        }
        values.update({key: str(value) for key, value in env.items()})
        status = f"status/{client_id}"
        before = probe.payloads(status).count(b"online")
        ready = (lambda: probe.payloads(status).count(b"online") > before) if wait_online \
            else None
        service = Service(client_id, [sys.executable, "-m", "opcua_bridge"], env=values,
                          ready=ready, workdir=tmp_path / f"run-{client_id}-{len(started)}")
        started.append(service)
        service.start()
        return Bridge(service, probe, client_id, values)

    yield start
    for service in started:
        service.close()
