"""OPC UA tag mapping against the real test server (devstack/opcua_server.py): browse level by
level, search, save to the nodes file (as the bridge reads it), and every wrong choice refused
with a clear message."""

import hashlib
import html
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from console import tagmap
from console.app import create_app
from console.config import read_config
from devstack.paths import ROOT
from devstack.servers import OpcUaServer
from service_common.opcua.nodes_file import parse_nodes
from tests.support.console import PASSWORDS, SECRET_KEY, make_users
from tests.support.opcua import PLANT_URI, SIM_URI
from tests.support.servers import starter

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def plc():
    servers = starter(OpcUaServer)
    start = next(servers)
    yield start(security="none")
    next(servers, None)


@pytest.fixture
def console(plc, tmp_path):
    config = read_config({"CONSOLE_SECRET_KEY": SECRET_KEY, "CONSOLE_COOKIE_SECURE": "false",
                          "CONSOLE_USERS_FILE": str(make_users(tmp_path / "users.json")),
                          "OPCUA_ENDPOINT": plc.endpoint,
                          "OPCUA_NODES": str(tmp_path / "opcua-nodes.yaml")})
    app = create_app(config)
    app.nodes_file = tmp_path / "opcua-nodes.yaml"
    return app


def logged_in(app, name="eve"):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    client.post("/login", data={"username": name, "password": PASSWORDS[name][1],
                                "csrf_token": token})
    client.csrf = token
    return client


def add(client, node, role="reading", device="", measurement="", deadband=""):
    client.post("/tags/add", data={"node": node, "role": role, "device": device,
                                   "measurement": measurement, "deadband": deadband,
                                   "csrf_token": client.csrf})
    return client.get("/tags").data.decode()


def test_browse_level_by_level_and_search(console):
    client = logged_in(console)
    root = client.get("/tags").data.decode()
    assert "Simulation Examples" in root and "Plant" in root
    plant = client.get("/tags", query_string={"node": "nsu=urn:example:plant;s=Plant",
                                              "path": "Objects/Plant"}).data.decode()
    assert "TIC101" in plant and "Plant.TIC101.PV" not in plant  # lazily: one level at a time
    found = client.get("/tags", query_string={"q": "sine"}).data.decode()
    assert SIM_URI + "Sine1" in found and "Double" in found and "Ramp1" not in found


def test_save_writes_the_nodes_file_the_bridge_reads(console):
    client = logged_in(console)
    page = add(client, SIM_URI + "Sine1", device="sim", measurement="sine1", deadband="0.5")
    assert "Saved" in page and "The bridge follows within 5 s" in page
    add(client, PLANT_URI + "PV", role="pv", device="tic101")
    add(client, PLANT_URI + "SP", role="sp", device="tic101")
    text = console.nodes_file.read_text()
    assert text.startswith("# Managed from the console")
    problems = []
    _, nodes = parse_nodes(yaml.safe_load(text), problems)
    assert problems == []
    assert {(n.device, n.measurement, n.deadband) for n in nodes} == {
        ("sim", "sine1", 0.5), ("tic101", "pv", None), ("tic101", "sp", None)}
    client.post("/tags/remove", data={"device": "sim", "measurement": "sine1",
                                      "csrf_token": client.csrf})
    assert "sine1" not in console.nodes_file.read_text()


@pytest.mark.parametrize("steps, message", [
    ([(SIM_URI + "String1", "reading", "sim", "s1")], "not a number"),
    ([("nsu=urn:alertloop:devstack:simulation;s=Nope", "reading", "sim", "x")],
     "the server has no such node"),
    ([(SIM_URI + "Sine1", "reading", "sim", "a"), (SIM_URI + "Sine1", "reading", "sim", "b")],
     "is already mapped to sim/a"),
    ([(SIM_URI + "Sine1", "reading", "sim", "a"), (SIM_URI + "Ramp1", "reading", "sim", "a")],
     "sim/a is already fed by"),
    ([(PLANT_URI + "PV", "pv", "tic101", ""), (PLANT_URI + "SP", "sp", "tic101", ""),
      (PLANT_URI + "OUT", "sp", "tic101", "")], "loop tic101 already has its SP"),
    ([(PLANT_URI + "SP", "sp", "tic102", "")], "map loop tic102&#39;s PV first"),
    ([(SIM_URI + "Sine1", "reading", "a/b", "x")], "the device must be"),
    ([(SIM_URI + "Sine1", "reading", "sim", "")], "the measurement must be"),
    ([("not a node id", "reading", "sim", "x")], "not a node id"),
])
def test_wrong_choices_are_refused_with_a_message(console, steps, message):
    client = logged_in(console)
    for node, role, device, measurement in steps:
        page = add(client, node, role, device, measurement)
    assert "Not saved" in page and message in page
    counters = console.extensions["console"]["counters"].snapshot()
    assert counters["refused_tag_mapping"] == 1


def test_a_bad_deadband_is_refused(console):
    page = add(logged_in(console), SIM_URI + "Sine1", device="sim", measurement="s",
               deadband="-1")
    assert "the deadband is a number of at least 0" in page
    assert not console.nodes_file.exists()


def test_only_engineers_map_tags(console):
    for name in ("vic", "olga"):
        client = logged_in(console, name)
        assert client.get("/tags").status_code == 403
        response = client.post("/tags/add", data={"node": SIM_URI + "Sine1", "role": "reading",
                                                  "device": "sim", "measurement": "x",
                                                  "csrf_token": client.csrf})
        assert response.status_code == 403
    assert not console.nodes_file.exists()


@pytest.fixture
def secured(tmp_path):
    """A SignAndEncrypt server that approved the console's certificate (its --trust-dir), and
    the console's settings for it with an empty trust folder of its own."""
    pki = tmp_path / "pki"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "opcua_cert.py"), "--service",
                    "console", "--out", str(pki)], check=True, capture_output=True, timeout=60)
    approved = tmp_path / "server-trusts"
    approved.mkdir()
    shutil.copy(pki / "console.der", approved)
    servers = starter(OpcUaServer)
    server = next(servers)(security="encrypt", trust_dir=approved)
    trusted = tmp_path / "console-trusts"
    trusted.mkdir()
    settings = {"OPCUA_ENDPOINT": server.endpoint,
                "OPCUA_SECURITY": "Basic256Sha256,SignAndEncrypt",
                "OPCUA_CERT": str(pki / "console.der"),
                "OPCUA_KEY": str(pki / "console-key.pem"), "OPCUA_TRUST_DIR": str(trusted)}
    yield server, settings, trusted
    next(servers, None)


def secured_console(tmp_path, settings):
    return create_app(read_config({
        "CONSOLE_SECRET_KEY": SECRET_KEY, "CONSOLE_COOKIE_SECURE": "false",
        "CONSOLE_USERS_FILE": str(make_users(tmp_path / "users.json")),
        "OPCUA_NODES": str(tmp_path / "opcua-nodes.yaml"), **settings}))


def browse_error(page):
    found = re.search(r'id="browse-error">⚠ ([^<]*)<', page)
    return html.unescape(found.group(1)) if found else None


def test_an_untrusted_server_is_named_until_its_certificate_is_in_the_trust_folder(
        secured, tmp_path):
    server, settings, trusted = secured
    sha1 = hashlib.sha1(server.certificate.read_bytes()).hexdigest()  # noqa: S324
    client = logged_in(secured_console(tmp_path, settings))
    for page in (client.get("/tags"), client.get("/tags", query_string={"q": "sine"})):
        error = browse_error(page.data.decode())
        assert error == (
            f"the OPC UA server {server.endpoint} answered, but the server's certificate "
            f"(SHA-1 thumbprint {sha1}) is not trusted: check it is the PLC's, then copy it "
            f"into OPCUA_TRUST_DIR or set OPCUA_SERVER_THUMBPRINT={sha1}; the console's trust "
            f"folder (OPCUA_TRUST_DIR) is {trusted}, read again at every browse")
        assert "Plant" not in page.data.decode()
    page = add(client, SIM_URI + "Sine1", device="sim", measurement="sine1")
    assert "Not saved" in page and "is not trusted" in page
    # The same console, no restart: the next browse finds the copy and works.
    shutil.copy(server.certificate, trusted)
    page = client.get("/tags").data.decode()
    assert browse_error(page) is None and "Simulation Examples" in page and "Plant" in page
    page = add(client, SIM_URI + "Sine1", device="sim", measurement="sine1")
    assert "Saved" in page and "Not saved" not in page


def test_a_pinned_thumbprint_of_another_certificate_is_named(secured, tmp_path):
    server, settings, _ = secured
    settings = {**settings, "OPCUA_TRUST_DIR": "", "OPCUA_SERVER_THUMBPRINT": "0" * 40}
    with pytest.raises(tagmap.MappingError) as refused:
        tagmap.Browser(read_config({"CONSOLE_SECRET_KEY": SECRET_KEY, **settings}).opcua
                       ).children()
    assert str(refused.value).startswith(f"the OPC UA server {server.endpoint} answered, but "
                                         "the server's certificate (SHA-1 thumbprint ")
    assert str(refused.value).endswith(
        "the console has no trust folder (OPCUA_TRUST_DIR is not set) and its "
        "OPCUA_SERVER_THUMBPRINT is another certificate's")
    thumbprint = hashlib.sha1(server.certificate.read_bytes()).hexdigest()  # noqa: S324
    settings["OPCUA_SERVER_THUMBPRINT"] = thumbprint
    names = [child.name for child in tagmap.Browser(
        read_config({"CONSOLE_SECRET_KEY": SECRET_KEY, **settings}).opcua).children()]
    assert "Plant" in names
