"""Fixtures of the actions tests: the real `python -m actions` against the harness broker, an
observer of what it publishes, and a stand-in for the webhook's retained output (its status
heartbeat and alert topics) where a test is about the actions service alone."""

import json
import sys

import pytest

from devstack.heartbeat import AlarmSource
from devstack.mqtt_probe import Probe
from devstack.paths import ROOT
from devstack.servers import Service
from devstack.wait import wait_until


class Observer(Probe):
    """Records actions/+/state, journal/actions and the commands of every kind."""

    def state(self, output_id):
        payload = self.last(f"actions/{output_id}/state")
        return json.loads(payload) if payload else None

    def wait_state(self, output_id, timeout=20, **expected):
        def matches():
            state = self.state(output_id)
            return state if state and all(state.get(k) == v for k, v in expected.items()) else None
        return wait_until(matches, timeout,
                          message=f"{output_id} never had {expected}: {self.state(output_id)}")

    def journal(self, kind=None):
        entries = [json.loads(p) for p in self.payloads("journal/actions")]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def commands(self, topic):
        return self.payloads(topic)


@pytest.fixture
def alarm_source(mosquitto):
    source = AlarmSource(mosquitto)
    yield source
    source.close()


@pytest.fixture
def observer(mosquitto):
    with Observer(mosquitto.host, mosquitto.port,
                  ["actions/#", "journal/actions", "sensors/+/+", "cmnd/#", "actuators/+/+/set",
                   "+/rpc", "opcua/#", "/hv/#", "status/actions", "sensors/sim/+"]) as probe:
        yield probe


def actions_env(broker, actions_file, state_dir, **extra):
    return {"MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "ACTIONS_FILE": str(actions_file), "ACTIONS_STATE_DIR": str(state_dir),
            "ACTIONS_HEARTBEAT": str(state_dir.parent / "actions.heartbeat"),
            "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in extra.items()}}


@pytest.fixture
def actions_service(mosquitto, tmp_path):
    """`actions_service(yaml_text, **env)`: the real `python -m actions`, started once its
    heartbeat file exists (it is connected); `.state_dir` survives restarts."""
    started = []

    def start(yaml_text, broker=None, **extra):
        path = tmp_path / "actions.yaml"
        path.write_text(yaml_text)
        state_dir = tmp_path / "state"
        env = actions_env(broker or mosquitto, path, state_dir, **extra)
        heartbeat = tmp_path / "actions.heartbeat"
        heartbeat.unlink(missing_ok=True)
        service = Service("actions", [sys.executable, "-m", "actions"], env=env,
                          ready=heartbeat.exists, workdir=tmp_path / "service")
        service.state_dir = state_dir
        service.heartbeat = heartbeat
        started.append(service)
        return service.start()

    yield start
    for service in started:
        service.close()
