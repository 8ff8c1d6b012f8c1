"""The ingest settings: every bad one named at start-up, and each default stated in
.env.example and docker-compose.yml equal to the code's."""

import re

import pytest
import yaml

from devstack.paths import ROOT
from service_common import service_ids
from service_common.config import ConfigError
from service_common.readings import DEFAULT_RETENTION, DEFAULT_TS_MAX_FUTURE
from webhook.config import read_config
from webhook.ingest import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_READINGS, SERVICE_CLIENT_IDS

BASE = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "grafana-password"}
DEFAULTS = {
    "INGEST_DEVICES": "*",
    "INGEST_MAX_BODY_BYTES": str(DEFAULT_MAX_BODY_BYTES),
    "INGEST_MAX_READINGS": str(DEFAULT_MAX_READINGS),
    "LISTENER_TS_MAX_FUTURE": DEFAULT_TS_MAX_FUTURE,
    "LISTENER_RETENTION": DEFAULT_RETENTION,
}


@pytest.mark.parametrize("name, default", DEFAULTS.items())
def test_env_example_states_the_code_default(name, default):
    text = (ROOT / ".env.example").read_text()
    block = re.search(rf"((?:^#.*\n)+)^{name}=(.*)$", text, re.M)
    assert block, f"{name} is not in .env.example"
    assert block.group(2) == default
    assert f"Default {default}." in " ".join(block.group(1).split())


@pytest.mark.parametrize("service, name", [("webhook", n) for n in DEFAULTS] +
                         [("listener", "LISTENER_TS_MAX_FUTURE")])
def test_compose_states_the_code_default(service, name):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["services"][service]["environment"][name]
    assert value == f"${{{name}:-{DEFAULTS[name]}}}"


@pytest.mark.parametrize("environ, problem", [
    ({"INGEST_USERNAME": "plc"}, "must be set together"),
    ({"INGEST_PASSWORD": "x"}, "must be set together"),
    ({"INGEST_USERNAME": "a:b", "INGEST_PASSWORD": "x"}, "must not contain ':'"),
    ({"INGEST_USERNAME": "grafana", "INGEST_PASSWORD": "x"}, "must differ from Grafana's"),
    ({"INGEST_DEVICES": " , "}, "INGEST_DEVICES names no device pattern"),
    ({"INGEST_MAX_BODY_BYTES": "2000000"}, "INGEST_MAX_BODY_BYTES='2000000' must be at most"),
    ({"INGEST_MAX_READINGS": "0"}, "INGEST_MAX_READINGS='0' must be at least 1"),
    ({"LISTENER_TS_MAX_FUTURE": "soon"}, "LISTENER_TS_MAX_FUTURE='soon'"),
])
def test_bad_ingest_settings_are_named(environ, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        read_config({**BASE, **environ})


def test_a_setting_two_parts_read_is_reported_once():
    with pytest.raises(ConfigError) as raised:
        read_config({**BASE, "LISTENER_RETENTION": "5m"})
    assert len(raised.value.problems) == 1


def test_the_env_user_password_is_not_in_the_config_repr():
    config = read_config({**BASE, "INGEST_USERNAME": "plc", "INGEST_PASSWORD": "s3cret-value"})
    assert config.ingest.env_user.name == "plc" and "s3cret-value" not in repr(config.ingest)


@pytest.mark.parametrize("module", ["listener.config", "opcua_bridge.config", "webhook.config"])
def test_the_service_client_ids_refused_to_ingest_are_the_services_defaults(module,
                                                                            monkeypatch):
    import importlib
    config = importlib.import_module(module)
    asked = []

    def record(env, prefix, default_client_id=None):
        asked.append((prefix, default_client_id or service_ids.BY_PREFIX[prefix]))
        raise LookupError

    monkeypatch.setattr(config, "read_mqtt_settings", record)
    reader = getattr(config, "read_settings", None) or config.read_config
    with pytest.raises(LookupError):
        reader({})
    [(prefix, default)] = asked
    assert SERVICE_CLIENT_IDS[prefix] == default


def test_the_configured_client_ids_are_refused_to_ingest_too():
    config = read_config({**BASE, "LISTENER_CLIENT_ID": "listener-2",
                          "WEBHOOK_CLIENT_ID": "webhook-b"})
    assert {"listener-2", "webhook-b", "listener", "webhook", "opcua-bridge"} <= \
        config.ingest.service_devices
