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
from webhook.ingest_settings import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_DEVICES_PER_USER,
    DEFAULT_MAX_READINGS,
    SERVICE_CLIENT_IDS,
)

BASE = {"WEBHOOK_USERNAME": "grafana", "WEBHOOK_PASSWORD": "grafana-password"}
DEFAULTS = {
    "INGEST_MAX_DEVICES_PER_USER": str(DEFAULT_MAX_DEVICES_PER_USER),
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
    ({"INGEST_USERNAME": "plc"}, "INGEST_USERNAME needs INGEST_PASSWORD"),
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


def test_reading_the_settings_pulls_in_no_route():
    """webhook.config (and so the ingest settings) can be read without the Flask routes."""
    import subprocess
    import sys
    code = ("import sys, webhook.config; print(' '.join(sorted(m for m in sys.modules if m in "
            "{'webhook.ingest', 'webhook.routes', 'webhook.ack', 'webhook.publisher'})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == ""


def test_a_password_alone_keeps_ingest_off():
    """`make secrets` generates INGEST_PASSWORD; the user name turns /ingest on."""
    assert read_config({**BASE, "INGEST_PASSWORD": "generated-by-make-secrets"}).ingest \
        .env_user is None


def test_the_env_user_writes_its_own_device_unless_told_otherwise():
    """Not every device (`*`, as before): one, named as the user, as a board's MQTT user."""
    user = read_config({**BASE, "INGEST_USERNAME": "plc-7", "INGEST_PASSWORD": "x" * 32}) \
        .ingest.env_user
    assert user.patterns == ("plc-7",)
    assert user.may_write("plc-7") and not user.may_write("plc-8") \
        and not user.may_write("tic101")
    assert read_config({**BASE, "INGEST_USERNAME": "gw", "INGEST_PASSWORD": "x" * 32,
                        "INGEST_DEVICES": "plc-*"}).ingest.env_user.patterns == ("plc-*",)
