"""docker-compose.yml and the Raspberry Pi override, validated by Debian's docker-compose
(`docker-compose config`, no Docker engine needed) with a `.env` made by `make secrets`."""

import re
import subprocess

import pytest
import yaml

from devstack.paths import ROOT
from tests.support.tools import require_tool

BASE = ROOT / "docker-compose.yml"
ARM = ROOT / "arm" / "docker-compose.arm.yml"
SERVICES = {"mosquitto", "influxdb", "influxdb-setup", "grafana", "listener", "webhook",
            "opcua-bridge", "actions", "console", "caddy"}
LONG_RUNNING = SERVICES - {"influxdb-setup"}
# Which services may see each secret (least privilege).
SECRET_USERS = {
    "MQTT_LISTENER_PASSWORD": {"listener"},
    "MQTT_WEBHOOK_PASSWORD": {"webhook"},
    "MQTT_OPCUA_BRIDGE_PASSWORD": {"opcua-bridge"},
    "MQTT_ACTIONS_PASSWORD": {"actions"},
    "INFLUXDB_ADMIN_PASSWORD": {"influxdb", "influxdb-setup"},
    "INFLUXDB_WRITER_PASSWORD": {"influxdb", "listener"},
    "INFLUXDB_READER_PASSWORD": {"influxdb", "grafana"},
    "INFLUXDB_CONSOLE_PASSWORD": {"influxdb", "console"},
    "GRAFANA_ADMIN_PASSWORD": {"grafana"},
    "WEBHOOK_PASSWORD": {"webhook", "grafana"},
    "WEBHOOK_HMAC_SECRET": {"webhook", "grafana"},
    "MQTT_CONSOLE_PASSWORD": {"console"},
    "CONSOLE_SECRET_KEY": {"console"},
}

def compose_config(env_path, *files):
    args = [require_tool("docker-compose", "run `make deps`"),
            "--project-directory", str(ROOT), "--env-file", str(env_path)]
    for path in files:
        args += ["-f", str(path)]
    return subprocess.run(args + ["config"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def secrets_env(tmp_path_factory, make_secrets):
    folder = tmp_path_factory.mktemp("compose")
    make_secrets.make_secrets(folder / ".env", ROOT / ".env.example", folder / "passwd")
    return folder / ".env", make_secrets.parse_env((folder / ".env").read_text())


@pytest.fixture(scope="module", params=["base", "base+arm"])
def resolved(request, secrets_env):
    files = [BASE] if request.param == "base" else [BASE, ARM]
    result = compose_config(secrets_env[0], *files)
    assert result.returncode == 0, result.stderr
    return request.param, yaml.safe_load(result.stdout)


def test_every_service_is_there(resolved):
    _, config = resolved
    assert set(config["services"]) == SERVICES


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_healthcheck_logs_and_restart(resolved, service):
    _, config = resolved
    spec = config["services"][service]
    assert spec["logging"]["driver"] == "json-file"
    assert spec["logging"]["options"]["max-size"] and spec["logging"]["options"]["max-file"]
    if service in LONG_RUNNING:
        assert spec["restart"] == "unless-stopped"
        assert spec["healthcheck"]["test"]
    else:
        assert spec["restart"] == "no"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_images_are_pinned(resolved, service):
    _, config = resolved
    image = config["services"][service]["image"]
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest", image
    if "build" not in config["services"][service]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: pin an exact version"


@pytest.mark.parametrize("service, needs", [
    ("listener", {"mosquitto": "service_healthy", "influxdb": "service_healthy",
                  "influxdb-setup": "service_completed_successfully"}),
    ("influxdb-setup", {"influxdb": "service_healthy"}),
    ("webhook", {"mosquitto": "service_healthy"}),
    ("grafana", {"influxdb": "service_healthy", "webhook": "service_healthy"}),
], ids=lambda value: value if isinstance(value, str) else "")
def test_start_order(resolved, service, needs):
    _, config = resolved
    depends = config["services"][service]["depends_on"]
    assert {name: spec["condition"] for name, spec in depends.items()} == needs


def mounts_of(spec):
    """{target: (source, read_only)}; docker-compose 1.x prints `source:target:mode` strings,
    `docker compose` 2.x mappings."""
    found = {}
    for volume in spec.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
        else:
            source, target, *mode = volume.split(":")
            found[target] = (source, mode == ["ro"])
    return found


def test_data_lives_in_named_volumes(resolved):
    _, config = resolved
    mounts = {service: mounts_of(spec) for service, spec in config["services"].items()}
    for service, target, volume in [("mosquitto", "/mosquitto/data", "mosquitto-data"),
                                    ("influxdb", "/var/lib/influxdb", "influxdb-data"),
                                    ("grafana", "/var/lib/grafana", "grafana-data"),
                                    ("listener", "/data/spool", "listener-spool"),
                                      ("webhook", "/data", "webhook-data"),
                                      ("actions", "/data/actions-state", "actions-state")]:
        assert mounts[service][target] == (volume, False), (service, target)
    assert set(config["volumes"]) == {"mosquitto-data", "influxdb-data", "grafana-data",
                                      "listener-spool", "webhook-data", "actions-state",
                                      "console-data", "caddy-data"}
    for service, target in [("mosquitto", "/mosquitto/config"),
                            ("grafana", "/etc/grafana/provisioning"),
                            ("grafana", "/etc/grafana/dashboards")]:
        assert mounts[service][target][1], f"{service} {target} should be read-only"


def test_only_the_broker_and_caddy_are_published(resolved):
    """The boards' broker port, and Caddy's 443 (the one TLS front) and 80 (its redirect to
    HTTPS, tests/console/test_caddy.py); the broker's 8883 is a commented line until enabled."""
    _, config = resolved
    published = {service: sorted(int(p["published"]) for p in spec.get("ports", []))
                 for service, spec in config["services"].items() if spec.get("ports")}
    assert published == {"mosquitto": [1883], "caddy": [80, 443]}
    assert '# - "8883:8883"' in BASE.read_text()


def test_grafana_is_served_by_caddy_under_grafana(resolved, secrets_env):
    _, config = resolved
    grafana = config["services"]["grafana"]
    site = secrets_env[1].get("CADDY_SITE") or "localhost"
    assert grafana["environment"]["GF_SERVER_ROOT_URL"] == f"https://{site}/grafana/"
    assert grafana["environment"]["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"
    assert config["services"]["caddy"]["environment"]["CADDY_GRAFANA"] == "grafana:3000"


def test_the_console_and_caddy_are_part_of_the_default_deployment(resolved):
    _, config = resolved
    for service in ("console", "caddy", "grafana"):
        assert not config["services"][service].get("profiles"), service


def test_the_console_and_the_bridge_share_the_nodes_files_folder(resolved):
    """The console replaces the nodes file by a rename in its folder: both mount the folder
    (a file mount would keep showing the bridge the old file), the bridge read-only."""
    _, config = resolved
    bridge, console = config["services"]["opcua-bridge"], config["services"]["console"]
    path = bridge["environment"]["OPCUA_NODES"]
    assert console["environment"]["OPCUA_NODES"] == path
    folder = path.rsplit("/", 1)[0]
    assert mounts_of(bridge)[folder] == (str(ROOT / "opcua"), True)
    assert mounts_of(console)[folder] == (str(ROOT / "opcua"), False)
    assert not any(target.endswith(".yaml") for target in mounts_of(console))


def test_make_secrets_makes_every_folder_compose_binds(resolved, make_secrets):
    """Every host folder a service mounts, except what the repository holds, is made (with its
    parents) by make secrets as the user: docker would make it as root. (actions.yaml is a file
    the user copies: docs/actions.md.)"""
    _, config = resolved
    folders = {source for spec in config["services"].values()
               for source, _ in mounts_of(spec).values()
               if source.startswith(str(ROOT)) and not source.endswith(".yaml")}
    shipped = {source for source in folders
               if subprocess.run(["git", "ls-files", "--error-unmatch", source], cwd=ROOT,
                                 capture_output=True, check=False).returncode == 0}
    made = set()
    for name in make_secrets.MOUNTED_FOLDERS:
        made |= {str(ROOT / name), *(str(parent) for parent in (ROOT / name).parents)}
    assert folders - shipped <= made
    assert {str(ROOT / name) for name in make_secrets.MOUNTED_FOLDERS} <= folders


def test_the_console_browses_opcua_with_its_own_identity(resolved, secrets_env):
    """Its own certificate and OPC UA user; the server certificates the bridge trusts,
    read-only; never the bridge's folder with its private key."""
    _, config = resolved
    bridge, console = config["services"]["opcua-bridge"], config["services"]["console"]
    env, mounts = console["environment"], mounts_of(console)
    for name in ("OPCUA_ENDPOINT", "OPCUA_SECURITY", "OPCUA_SERVER_THUMBPRINT", "OPCUA_TIMEOUT"):
        assert env[name] == bridge["environment"][name], name
    assert (env["OPCUA_CERT"], env["OPCUA_KEY"]) == ("/config/pki/console.der",
                                                     "/config/pki/console-key.pem")
    assert mounts["/config/pki"] == (str(ROOT / "secrets" / "opcua-console"), True)
    assert mounts[env["OPCUA_TRUST_DIR"]] == (str(ROOT / "secrets" / "opcua" / "trusted"), True)
    assert str(ROOT / "secrets" / "opcua") not in {source for source, _ in mounts.values()}
    text = BASE.read_text()
    assert "OPCUA_USERNAME: ${CONSOLE_OPCUA_USERNAME:-}" in text
    assert "OPCUA_PASSWORD: ${CONSOLE_OPCUA_PASSWORD:-}" in text


def test_each_secret_reaches_only_its_services(resolved, secrets_env):
    _, config = resolved
    env = secrets_env[1]
    for name, users in SECRET_USERS.items():
        seen = {service for service, spec in config["services"].items()
                if env[name] in (spec.get("environment") or {}).values()}
        assert seen == users, name


def test_our_services_run_hardened(resolved):
    _, config = resolved
    for service in ("listener", "webhook", "influxdb-setup", "opcua-bridge", "console"):
        spec = config["services"][service]
        assert spec["read_only"] is True
        assert spec["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in spec["security_opt"]


def test_influxdb_has_auth_and_no_monitor_database(resolved):
    _, config = resolved
    env = config["services"]["influxdb"]["environment"]
    assert env["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    assert env["INFLUXDB_MONITOR_STORE_ENABLED"] == "false"
    assert (env["INFLUXDB_WRITE_USER"], env["INFLUXDB_READ_USER"]) == ("listener", "grafana")


def test_the_pi_override_pins_platforms_and_limits_memory(secrets_env):
    result = compose_config(secrets_env[0], BASE, ARM)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    total = 0
    for service, spec in config["services"].items():
        assert spec["platform"] == "linux/arm64", service
        limit = spec["mem_limit"]
        if not spec.get("profiles"):  # optional services (the OPC UA bridge) come on top
            total += int(limit[:-1]) if isinstance(limit, str) else limit // 2**20
    # megabytes: docs/deploy.md and arm/setup-pi.sh say 1.3 GB, a Pi with 2 GB of RAM
    assert total <= 1300


@pytest.mark.parametrize("emptied", ["MQTT_LISTENER_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
                                     "WEBHOOK_HMAC_SECRET", "INFLUXDB_READER_PASSWORD"])
def test_refuses_to_start_with_an_unset_secret(tmp_path, secrets_env, emptied):
    text = secrets_env[0].read_text()
    env_path = tmp_path / ".env"
    env_path.write_text(re.sub(rf"(?m)^{emptied}=.*$", f"{emptied}=", text))
    result = compose_config(env_path, BASE)
    assert result.returncode != 0
    assert emptied in result.stderr and "run make secrets" in result.stderr


def test_the_arm_platform_follows_the_env(tmp_path, secrets_env):
    env_path = tmp_path / ".env"
    env_path.write_text(secrets_env[0].read_text().replace(
        "ALERTLOOP_PLATFORM=linux/arm64", "ALERTLOOP_PLATFORM=linux/arm/v7"))
    result = compose_config(env_path, BASE, ARM)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert {spec["platform"] for spec in config["services"].values()} == {"linux/arm/v7"}


def test_the_files_are_valid_without_compose_1_only_keys():
    """The files stay valid for modern `docker compose`: no top-level `version` key."""
    for path in (BASE, ARM):
        assert "version" not in yaml.safe_load(path.read_text())


def test_the_pi_env_selects_the_override_for_plain_compose_commands(tmp_path, secrets_env):
    """What arm/setup-pi.sh tells the user to run on .env: uncomment COMPOSE_FILE, so that a
    plain `docker compose up -d` includes the arm/ override."""
    uncomment = "s|^#COMPOSE_FILE=|COMPOSE_FILE=|"
    assert uncomment in (ROOT / "arm" / "setup-pi.sh").read_text()
    assert uncomment in (ROOT / "docs" / "deploy.md").read_text()
    env_path = tmp_path / ".env"
    env_path.write_text(re.sub(r"(?m)^#COMPOSE_FILE=", "COMPOSE_FILE=",
                               secrets_env[0].read_text()))
    result = compose_config(env_path)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert all("mem_limit" in spec for spec in config["services"].values())


def test_the_pi_env_names_the_tls_site_and_grafana_follows(tmp_path, secrets_env):
    """The same sed line sets CADDY_SITE to the Pi's name: Caddy's certificate and Grafana's
    root URL (https://<name>/grafana/) follow it."""
    for path in (ROOT / "arm" / "setup-pi.sh", ROOT / "docs" / "deploy.md"):
        assert "s|^CADDY_SITE=.*|CADDY_SITE=$(hostname).local|" in path.read_text(), path
    env_path = tmp_path / ".env"
    env_path.write_text(re.sub(r"(?m)^CADDY_SITE=.*$", "CADDY_SITE=yourpi.local",
                               secrets_env[0].read_text()))
    result = compose_config(env_path, BASE)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["caddy"]["environment"]["CADDY_SITE"] == "yourpi.local"
    assert services["grafana"]["environment"]["GF_SERVER_ROOT_URL"] == \
        "https://yourpi.local/grafana/"


def test_the_listener_window_matches_the_broker():
    conf = (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text()
    window = re.search(r"(?m)^max_inflight_messages (\d+)$", conf).group(1)
    listener = yaml.safe_load(BASE.read_text())["services"]["listener"]["environment"]
    assert listener["LISTENER_MAX_UNACKED"] == window
    assert "queue_qos0_messages true" in conf.splitlines()


@pytest.mark.parametrize("service, client_id", [("listener", "LISTENER_CLIENT_ID"),
                                                ("webhook", "WEBHOOK_CLIENT_ID"),
                                                ("actions", "ACTIONS_CLIENT_ID")])
def test_each_services_client_id_is_its_broker_username(resolved, service, client_id):
    """The broker sets every client id to the username (use_username_as_clientid); the service
    names its status topic and persistent session after the same id."""
    _, config = resolved
    env = config["services"][service]["environment"]
    assert env[client_id] == env["MQTT_USERNAME"] == service
