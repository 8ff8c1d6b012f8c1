"""One home for the services' settings: `.env.example` documents every setting, and
docker-compose.yml forwards them to the services with the same defaults.

Compose cannot hand the services `.env` whole (`env_file`): every service would then see every
secret. So the listener and the webhook get named settings, the MQTT ones from one shared block
(`x-mqtt`), and these tests tie that list to `.env.example`."""

import re

import pytest
import yaml

from devstack.paths import ROOT
from tests.support.tools import load_script

COMPOSE_FILES = [ROOT / "docker-compose.yml", ROOT / "arm" / "docker-compose.arm.yml"]
SERVICES = yaml.safe_load(COMPOSE_FILES[0].read_text())["services"]
EXAMPLE = (ROOT / ".env.example").read_text()
SETTINGS = load_script("make_secrets").parse_env(EXAMPLE)
DOCUMENTED = set(SETTINGS) | set(re.findall(r"(?m)^#([A-Z][A-Z0-9_]*)=", EXAMPLE))
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|:?\?[^}]*)?\}")

# Settings of .env.example that a service gets a fixed value for inside compose, and why.
FIXED_IN_COMPOSE = {
    "MQTT_HOST": "the broker is the `mosquitto` service",
    "MQTT_PORT": "the broker's port inside the compose network",
    "MQTT_USERNAME": "each service has its own broker user",
    "MQTT_PASSWORD": "each service's own, from MQTT_<SERVICE>_PASSWORD",
    "MQTT_TLS_CA": "the compose network is private; TLS is for the boards' listener",
    "INFLUXDB_URL": "InfluxDB is the `influxdb` service",
    "INFLUXDB_USERNAME": "the listener writes as `listener`, the set-up runs as `admin`",
    "INFLUXDB_PASSWORD": "from INFLUXDB_WRITER_PASSWORD / INFLUXDB_ADMIN_PASSWORD",
    "LISTENER_CLIENT_ID": "the broker makes it the username",
    "WEBHOOK_CLIENT_ID": "the broker makes it the username",
    "OPCUA_CLIENT_ID": "the broker makes it the username",
    "LISTENER_SPOOL_DIR": "the listener-spool volume",
    "LISTENER_MAX_UNACKED": "the broker's max_inflight_messages",
    "LISTENER_BROKER_STATS_CLIENT_ID": "the broker makes it the username (listener-stats)",
    "LISTENER_BROKER_STATS_USERNAME": "the listener-stats user, made by make secrets",
    "WEBHOOK_HOST": "Grafana calls http://webhook:5000",
    "WEBHOOK_PORT": "Grafana calls http://webhook:5000",
    "WEBHOOK_STATE_DIR": "the webhook-data volume",
    "OPCUA_NODES": "the nodes file's folder is mounted at /config/opcua",
    "OPCUA_HEARTBEAT": "in the container's /tmp, where its healthcheck looks",
    "ACTIONS_CLIENT_ID": "the broker makes it the username",
    "ACTIONS_FILE": "the actions file is mounted at /config/actions.yaml",
    "ACTIONS_STATE_DIR": "the actions-state volume",
    "ACTIONS_HEARTBEAT": "in the container's /tmp, where its healthcheck looks",
    "CONSOLE_CLIENT_ID": "the broker makes it the username",
    "CONSOLE_HOST": "caddy calls http://console:5080",
    "CONSOLE_PORT": "caddy calls http://console:5080",
    "CONSOLE_USERS_FILE": "the console-data volume",
    "CONSOLE_TOKENS_FILE": "the console-data volume",
    "CONSOLE_INFLUXDB_USERNAME": "InfluxDB's read-only user `console`, the console's own",
    "CONSOLE_OPCUA_USERNAME": "given to the console as its OPCUA_USERNAME",
}
PREFIXES = {"listener": ("MQTT_", "INFLUXDB_", "LISTENER_"), "webhook": ("MQTT_", "WEBHOOK_"),
            "opcua-bridge": ("MQTT_", "OPCUA_"), "actions": ("MQTT_", "ACTIONS_"),
            "console": ("MQTT_", "CONSOLE_")}
OUR_SERVICES = sorted(service for service in PREFIXES if service in SERVICES)
# Deployment-level settings in .env.example that no service reads itself.
DEPLOYMENT_ONLY = re.compile(r"(_PASSWORD|_SECRET)$|^(ALERTLOOP_|COMPOSE_FILE$)")


def interpolations():
    for path in COMPOSE_FILES:
        for match in INTERPOLATION.finditer(path.read_text()):
            yield path.name, match.group(1), match.group(2), match.group(3)


def test_every_variable_compose_reads_is_documented_in_the_example():
    missing = {(path, name) for path, name, _, _ in interpolations() if name not in DOCUMENTED}
    assert not missing, f"document these in .env.example: {sorted(missing)}"


def test_every_default_in_compose_is_the_examples():
    wrong = {(name, default, SETTINGS.get(name)) for _, name, kind, default in interpolations()
             if kind and default and default != SETTINGS.get(name)}
    assert not wrong, f"(setting, compose default, .env.example): {sorted(wrong)}"


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_every_setting_of_a_service_reaches_it_or_is_fixed_for_a_reason(service):
    given = SERVICES[service]["environment"]
    wanted = {name for name in SETTINGS if name.startswith(PREFIXES[service])
              and not DEPLOYMENT_ONLY.search(name)}
    forwarded = {name for name, value in given.items()
                 if re.fullmatch(rf"\$\{{{name}(:?[-?][^}}]*)?\}}", str(value))}
    missing = wanted - forwarded - set(FIXED_IN_COMPOSE)
    assert not missing, f"{service}: forward these from .env in docker-compose.yml " \
        f"(or say in FIXED_IN_COMPOSE why not): {sorted(missing)}"
    assert set(given) <= DOCUMENTED, f"{service}: undocumented {sorted(set(given) - DOCUMENTED)}"
    fixed_here = {name for name in given if name in FIXED_IN_COMPOSE and name in wanted}
    assert not fixed_here & forwarded


def test_the_services_share_one_mqtt_block():
    shared = yaml.safe_load(COMPOSE_FILES[0].read_text())["x-mqtt"]
    for service in OUR_SERVICES:
        given = SERVICES[service]["environment"]
        assert {name: given[name] for name in shared} == shared, service
