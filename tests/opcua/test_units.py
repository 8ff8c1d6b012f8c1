"""Pure pieces of the bridge: node id text forms, the nodes file, settings, value conversion."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from devstack.paths import ROOT
from opcua_bridge import config, readings
from service_common.config import ConfigError
from service_common.opcua import nodeid, nodes_file


@pytest.mark.parametrize("text, namespace, kind, identifier", [
    ("i=2258", 0, "i", 2258),
    ("ns=2;s=Simulation Examples.Functions.Ramp1", 2, "s", "Simulation Examples.Functions.Ramp1"),
    ("ns=4;s=a;b=c", 4, "s", "a;b=c"),
    ("ns=1;g=72962b91-fa75-4ae6-8d28-b404dc7daf63", 1, "g",
     uuid.UUID("72962b91-fa75-4ae6-8d28-b404dc7daf63")),
    ("ns=3;b=M/RbKBsRVkePCePcx24oRA==", 3, "b",
     b"3\xf4[(\x1b\x11VG\x8f\x09\xe3\xdc\xc7n(D"),
    ("nsu=urn:example:plant;s=Plant.TIC101.PV", "urn:example:plant", "s", "Plant.TIC101.PV"),
    ("nsu=http://x.org/UA/;i=5", "http://x.org/UA/", "i", 5),
], ids=["numeric-ns0", "string", "string-with-semicolon", "guid", "opaque", "nsu-string",
        "nsu-numeric"])
def test_node_id_forms(text, namespace, kind, identifier):
    ref = nodeid.parse(text)
    assert (ref.namespace, ref.kind, ref.identifier) == (namespace, kind, identifier)


@pytest.mark.parametrize("text", ["", "Ramp1", "ns=x;s=a", "ns=2;i=abc", "ns=2;g=nope",
                                  "ns=2;b=***", "ns=70000;i=1", "ns=2;q=1", "i=-1"])
def test_bad_node_ids(text):
    with pytest.raises(nodeid.NodeIdError):
        nodeid.parse(text)


def test_nsu_resolves_against_each_namespace_array():
    ref = nodeid.parse("nsu=urn:example:plant;s=Plant.TIC101.PV")
    assert ref.resolve(["http://opcfoundation.org/UA/", "urn:s", "urn:example:plant"]) \
        .NamespaceIndex == 2
    moved = ref.resolve(["http://opcfoundation.org/UA/", "urn:s", "a", "b", "urn:example:plant"])
    assert moved.NamespaceIndex == 4 and moved.Identifier == "Plant.TIC101.PV"
    with pytest.raises(nodeid.UnknownNamespace):
        ref.resolve(["http://opcfoundation.org/UA/"])


def test_example_nodes_file_is_valid_and_shows_the_defaults():
    problems = []
    text = (ROOT / "opcua-nodes.example.yaml").read_text()
    publishing, nodes = nodes_file.parse_nodes(yaml.safe_load(text), problems)
    assert problems == []
    assert publishing == nodes_file.PUBLISHING_INTERVAL_MS
    assert {(n.device, n.measurement) for n in nodes} >= {("tic101", "pv"), ("tic101", "sp"),
                                                         ("tic101", "out"), ("sim", "ramp1")}
    # The example documents the defaults: tie its numbers to config's.
    assert f"publishing_interval_ms: {nodes_file.PUBLISHING_INTERVAL_MS:g}" in text
    assert f"sampling_interval_ms: {nodes_file.SAMPLING_INTERVAL_MS:g}" in text
    assert f"queue_size: {nodes_file.QUEUE_SIZE}" in text


def test_republish_interval_top_level_with_per_node_overrides():
    document = {
        "republish_interval_ms": 10000,
        "nodes": [{"node": "ns=2;s=A", "device": "d", "measurement": "a"},
                  {"node": "ns=2;s=B", "device": "d", "measurement": "b",
                   "republish_interval_ms": 500},
                  {"node": "ns=2;s=C", "device": "d", "measurement": "c",
                   "republish_interval_ms": 0}],
        "loops": [{"id": "tic", "pv": "ns=3;s=PV", "sp": "ns=3;s=SP"}],
    }
    problems = []
    _, nodes = nodes_file.parse_nodes(document, problems)
    assert problems == []
    assert {n.measurement: n.republish_interval_ms for n in nodes} == {
        "a": 10000, "b": 500, "c": None, "pv": 10000, "sp": 10000}
    _, nodes = nodes_file.parse_nodes({"nodes": document["nodes"][:1]}, problems)
    assert nodes[0].republish_interval_ms is None  # off unless asked for


@pytest.mark.parametrize("value, problem", [
    (50, "republish_interval_ms=50 must be 0 (off) or at least 100"),
    (-1, "republish_interval_ms=-1 must be at least 0"),
    ("10s", "republish_interval_ms='10s' must be a number"),
])
def test_bad_republish_intervals_are_named(value, problem):
    problems = []
    nodes_file.parse_nodes({"republish_interval_ms": value, "nodes": [
        {"node": "ns=2;s=A", "device": "d", "measurement": "a", "republish_interval_ms": value}]},
        problems, where="n.yaml")
    assert len(problems) == 2 and all(problem in p for p in problems), problems


def test_example_nodes_file_recommends_a_republish_interval():
    text = (ROOT / "opcua-nodes.example.yaml").read_text()
    _, nodes = nodes_file.parse_nodes(yaml.safe_load(text), [])
    recommended = nodes_file.RECOMMENDED_REPUBLISH_INTERVAL_MS
    assert f"republish_interval_ms: {recommended}" in text and f"Recommended {recommended}" in text
    assert all(n.republish_interval_ms == recommended for n in nodes if n.device == "tic101")
    assert f"(recommended {recommended}," in (ROOT / "docs" / "opcua.md").read_text()
    assert f"({recommended}, as" in (ROOT / "docs" / "alerting.md").read_text()


def test_every_nodes_file_problem_is_named():
    document = {
        "publishing_interval_ms": -1,
        "colour": "red",
        "nodes": [
            {"node": "Ramp1", "device": "sim", "measurement": "ramp1"},
            {"node": "ns=2;s=A", "device": "si/m", "measurement": "a"},
            {"node": "ns=2;s=B", "device": "sim", "measurement": "b", "deadband": "big"},
            {"node": "ns=2;s=C", "measurement": "c"},
            {"node": "ns=2;s=D", "device": "sim", "measurement": "d", "sampling": 5},
            {"node": "ns=2;s=E", "device": "sim", "measurement": "d"},
        ],
        "loops": [{"id": "tic101", "sp": "ns=3;s=SP"}, "tic102"],
    }
    problems = []
    nodes_file.parse_nodes(document, problems, where="n.yaml")
    text = "\n".join(problems)
    for expected in ("publishing_interval_ms=-1", "unknown key 'colour'", "nodes[0]: node: 'Ramp1'",
                     "device='si/m'", "deadband='big'", "nodes[3]: device is required",
                     "unknown key 'sampling'", "sim/d is fed by two nodes",
                     "loops[0]: pv is required", "loops[1]: must be a mapping"):
        assert expected in text, text
    assert len(problems) == 10, text


def _env(tmp_path, **values):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("nodes:\n  - {node: 'ns=2;s=A', device: d, measurement: m}\n")
    return {"OPCUA_ENDPOINT": "opc.tcp://plc:4840/", "OPCUA_NODES": str(nodes), **values}


def test_settings_defaults(tmp_path):
    settings = config.read_settings(_env(tmp_path))
    assert settings.mqtt.client_id == "opcua-bridge"
    assert settings.security == "None" and not settings.secure
    assert [n.name for n in settings.nodes] == ["d/m (ns=2;s=A)"]
    assert settings.nodes[0].sampling_interval_ms == nodes_file.SAMPLING_INTERVAL_MS


def test_every_setting_problem_in_one_error(tmp_path):
    environ = _env(tmp_path, OPCUA_ENDPOINT="http://plc", OPCUA_SECURITY="Basic128",
                   OPCUA_USERNAME="op", OPCUA_BUFFER_SIZE="0", OPCUA_SERVER_THUMBPRINT="xyz",
                   OPCUA_NODES=str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError) as error:
        config.read_settings(environ)
    text = str(error.value)
    for expected in ("OPCUA_ENDPOINT='http://plc'", "OPCUA_SECURITY='Basic128'",
                     "OPCUA_USERNAME is set but OPCUA_PASSWORD is not", "OPCUA_BUFFER_SIZE",
                     "OPCUA_SERVER_THUMBPRINT", "missing.yaml"):
        assert expected in text, text


def test_security_needs_certificate_and_explicit_trust(tmp_path):
    environ = _env(tmp_path, OPCUA_SECURITY="Basic256Sha256,SignAndEncrypt",
                   OPCUA_KEY=str(tmp_path / "nokey.pem"))
    with pytest.raises(ConfigError) as error:
        config.read_settings(environ)
    problems = error.value.problems
    assert any(p.startswith("OPCUA_CERT is required") for p in problems)
    assert any("nokey.pem" in p and "no such file" in p for p in problems)
    assert any("OPCUA_TRUST_DIR" in p and "OPCUA_SERVER_THUMBPRINT" in p for p in problems)


def test_a_password_needs_a_secure_channel(tmp_path):
    with pytest.raises(ConfigError, match="OPCUA_USERNAME needs OPCUA_SECURITY"):
        config.read_settings(_env(tmp_path, OPCUA_USERNAME="op", OPCUA_PASSWORD="pw"))


class _Status:
    def __init__(self, good, name="Good"):
        self._good, self.name = good, name

    def is_good(self):
        return self._good


class _Variant:
    def __init__(self, value):
        self.Value = value


class _DataValue:
    def __init__(self, value, good=True, source=None, server=None):
        self.Value, self.StatusCode = _Variant(value), _Status(good)
        self.SourceTimestamp, self.ServerTimestamp = source, server


T1 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T2 = datetime(2026, 1, 2, 3, 4, 6)   # naive: UTC


@pytest.mark.parametrize("data_value, expected", [
    (_DataValue(21.5, source=T1, server=T2), ("good", 21.5, 1767323045678)),
    (_DataValue(7, server=T2), ("good", 7.0, 1767323046000)),
    (_DataValue(True, source=T1), ("good", 1.0, 1767323045678)),
    (_DataValue(False, source=T1), ("good", 0.0, 1767323045678)),
    (_DataValue("Text 1", source=T1), ("non_numeric", None, None)),
    (_DataValue([1.0, 2.0], source=T1), ("non_numeric", None, None)),
    (_DataValue(float("nan"), source=T1), ("non_numeric", None, None)),
    (_DataValue(None, source=T1), ("non_numeric", None, None)),
    (_DataValue(3.0, good=False, source=T1), ("bad_quality", None, None)),
], ids=["double-source-ts", "int-server-ts", "true", "false", "string", "array", "nan", "empty",
        "bad-status"])
def test_classify(data_value, expected):
    assert readings.classify(data_value) == expected


def test_env_example_shows_the_defaults(tmp_path):
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.startswith("OPCUA_") and not line.startswith("#"):
            example[name] = value
    assert set(example) >= {"OPCUA_ENDPOINT", "OPCUA_NODES", "OPCUA_SECURITY", "OPCUA_CERT",
                            "OPCUA_KEY", "OPCUA_USERNAME", "OPCUA_PASSWORD", "OPCUA_CLIENT_ID",
                            "OPCUA_BUFFER_SIZE", "OPCUA_TRUST_DIR", "OPCUA_SERVER_THUMBPRINT"}
    base = _env(tmp_path)
    shown = config.read_settings({**example, **base})
    assert shown == config.read_settings(base)
    default = config.read_settings({"OPCUA_ENDPOINT": "opc.tcp://plc/"}, with_nodes=False)
    assert default.nodes_path == Path(example["OPCUA_NODES"])


def test_the_console_gets_a_certificate_of_its_own(tmp_path):
    import subprocess
    import sys

    from service_common.opcua import security

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "opcua_cert.py"), "--service",
                           "console", "--out", str(tmp_path), "--hostname", "pi"],
                          check=True, capture_output=True, text=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["console-key.pem", "console.der"]
    assert (tmp_path / "console-key.pem").stat().st_mode & 0o777 == 0o600
    assert security.application_uri(tmp_path / "console.der") == "urn:pi:alertloop:console"
    assert "/config/pki/console.der" in done.stdout


def test_server_certificate_trust_by_folder_or_thumbprint(tmp_path):
    import hashlib
    import subprocess
    import sys

    from service_common.opcua import security

    subprocess.run([sys.executable, str(ROOT / "scripts" / "opcua_cert.py"), "--out",
                    str(tmp_path), "--hostname", "bridge-host"], check=True, capture_output=True)
    der = (tmp_path / "opcua-bridge.der").read_bytes()
    assert security.application_uri(tmp_path / "opcua-bridge.der") == \
        security.default_application_uri("bridge-host")
    sha1 = hashlib.sha1(der).hexdigest()  # noqa: S324
    colons = ":".join(sha1[i:i + 2] for i in range(0, 40, 2)).upper()
    base = _env(tmp_path, OPCUA_SECURITY="Basic256Sha256,Sign",
                OPCUA_CERT=str(tmp_path / "opcua-bridge.der"),
                OPCUA_KEY=str(tmp_path / "opcua-bridge-key.pem"))
    pinned = config.read_settings({**base, "OPCUA_SERVER_THUMBPRINT": colons})
    security.check_trusted(der, pinned)
    folder = tmp_path / "trusted"
    folder.mkdir()
    by_folder = config.read_settings({**base, "OPCUA_TRUST_DIR": str(folder)})
    with pytest.raises(security.UntrustedServer, match=sha1):
        security.check_trusted(der, by_folder)
    (folder / "plc.der").write_bytes(der)
    security.check_trusted(der, by_folder)
    other = config.read_settings({**base, "OPCUA_SERVER_THUMBPRINT": "ab" * 32})
    with pytest.raises(security.UntrustedServer):
        security.check_trusted(der, other)


def test_bad_quality_is_counted_by_node_and_logged_per_transition(caplog):
    from opcua_bridge.stats import Stats

    stats = Stats()
    ramp, sine = (nodes_file.Node(nodeid.parse(f"ns=2;s={n}"), "sim", n.lower())
                  for n in ("Ramp1", "Sine1"))
    bad = _Status(False, "BadSensorFailure")
    with caplog.at_level("INFO", logger="opcua_bridge.stats"):
        for node in (ramp, ramp, sine):
            stats.bad(node, bad)
        stats.good(ramp)
        stats.bad(ramp, bad)
        stats.non_number(sine, "Text 1")
        stats.non_number(sine, "Text 2")
    assert stats.bad_by_node == {ramp.name: 3, sine.name: 1}
    assert stats.values(buffered=4) == {"readings": 1, "republished": 0, "bad_quality": 4,
                                        "non_numeric": 2,
                                        "dropped": 0, "reconnects": 0, "unknown_nodes": 0,
                                        "buffered": 4, "session_state": 0, "writes": 0,
                                        "write_refused": 0, "replayed": 0}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("sim/ramp1" in m and "BadSensorFailure" in m for m in messages) == 2
    assert sum("Good again after 2 bad values" in m for m in messages) == 1
    assert sum("is not a number" in m for m in messages) == 1


def test_every_published_counter_is_documented():
    from opcua_bridge.stats import COUNTERS, GAUGES, Stats

    documented = (ROOT / "docs" / "opcua.md").read_text()
    assert set(Stats().values(buffered=0)) == set(COUNTERS) | set(GAUGES)
    for name in (*COUNTERS, *GAUGES):
        assert f"| `{name}` |" in documented, name


def test_unset_variables_give_the_settings_own_defaults():
    """Each default is written once, in BridgeSettings (issue 21)."""
    settings = config.read_settings({"OPCUA_ENDPOINT": "opc.tcp://plc:4840/"}, with_nodes=False)
    default = config.BridgeSettings(mqtt=settings.mqtt, endpoint=settings.endpoint)
    assert settings == default
    with pytest.raises(ConfigError, match="OPCUA_LOG_LEVEL='LOUD' must be one of DEBUG"):
        config.read_settings({"OPCUA_ENDPOINT": "opc.tcp://plc:4840/",
                              "OPCUA_LOG_LEVEL": "loud"}, with_nodes=False)
