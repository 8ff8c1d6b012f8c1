"""Caddy, the one TLS front, natively on free loopback ports: the console at / (its Secure
cookies and live stream through TLS), Grafana under /grafana/, the webhook's /ingest and /ack
and nothing else of it, HTTP redirected to HTTPS; Caddy's internal CA or the user's own
certificate."""

import datetime
import re

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.wait import wait_until
from tests.support.caddy import Caddy, Upstream
from tests.support.ci import missing
from tests.support.console import PASSWORDS, ConsoleServer, info, info_topic
from tests.support.servers import ServerMissing

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def upstreams():
    grafana, webhook = Upstream("grafana"), Upstream("webhook")
    yield grafana, webhook
    grafana.close()
    webhook.close()


@pytest.fixture
def console(mosquitto):
    server = ConsoleServer(mosquitto, CONSOLE_COOKIE_SECURE="true")
    try:
        yield server.start()
    finally:
        server.close()


def start_caddy(console, upstreams, tls=None):
    grafana, webhook = upstreams
    try:
        caddy = Caddy(f"127.0.0.1:{console.port}", grafana.address, webhook.address, tls=tls)
    except ServerMissing as error:
        missing(str(error))
    caddy.start()
    return caddy


@pytest.fixture
def caddy(console, upstreams):
    server = start_caddy(console, upstreams)
    try:
        yield server
    finally:
        server.close()


def served(url, verify):
    """The first answer once Caddy has its certificate (issued in the background at start)."""
    def attempt():
        try:
            return requests.get(url, verify=verify, timeout=5, allow_redirects=False)
        except requests.exceptions.SSLError:
            return None
    return wait_until(attempt, 20, interval=0.1, message=f"no TLS answer from {url}")


def call(method, url, root):
    return requests.request(method, url, verify=root, timeout=10, allow_redirects=False)


def log_in(session, caddy):
    page = session.get(caddy.url("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(caddy.url("/login"), data={
        "username": "olga", "password": PASSWORDS["olga"][1], "csrf_token": token},
        allow_redirects=False)


def test_routes_through_tls_with_the_internal_ca(caddy, upstreams):
    root = str(caddy.root_certificate)
    wait_until(caddy.root_certificate.exists, 20, message="Caddy made no CA")
    login = served(caddy.url("/login"), root)
    assert login.status_code == 200 and "Log in" in login.text
    assert "Secure" in login.headers["Set-Cookie"]
    assert login.headers["Strict-Transport-Security"].startswith("max-age=")
    grafana, webhook = upstreams
    assert call("get", caddy.url("/grafana/api/health"), root).text == \
        "grafana /grafana/api/health"
    assert call("get", caddy.url("/grafana"), root).headers["Location"] == "/grafana/"
    assert call("post", caddy.url("/ingest"), root).text == "webhook /ingest"
    assert call("post", caddy.url("/ack/pot-high"), root).text == "webhook /ack/pot-high"
    # Grafana's own way in stays inside: /alert is the console's (a login), never the webhook's.
    call("post", caddy.url("/alert"), root)
    assert [path for _, path, _ in webhook.paths] == ["/ingest", "/ack/pot-high"]
    assert {proto for _, _, proto in webhook.paths + grafana.paths} == {"https"}


def test_the_health_site_answers_on_loopback(caddy):
    answer = requests.get(f"http://127.0.0.1:{caddy.health_port}/", timeout=5)
    assert answer.status_code == 200 and answer.text == "ok"


def test_http_redirects_to_https(caddy, upstreams):
    """Plain HTTP (compose publishes it as port 80) serves nothing but the redirect: every
    path and method, the webhook's and Grafana's too, gets a 308 and reaches no upstream."""
    served(caddy.url("/login"), str(caddy.root_certificate))
    for method, path in [("get", "/login"), ("get", "/grafana/api/health"), ("post", "/ingest"),
                         ("post", "/ack/pot-high"), ("get", "/api/alarms")]:
        answer = requests.request(method, f"http://localhost:{caddy.http_port}{path}",
                                  allow_redirects=False, timeout=5)
        assert answer.status_code == 308, (method, path)
        assert answer.headers["Location"] == caddy.url(path)
        assert answer.content == b""
    grafana, webhook = upstreams
    assert grafana.paths == [] and webhook.paths == []


def test_the_console_logs_in_and_streams_through_tls(caddy, mosquitto):
    from devstack.mqtt_probe import Probe

    root = str(caddy.root_certificate)
    served(caddy.url("/login"), root)
    session = requests.Session()
    session.verify = root
    session.trust_env = False  # REQUESTS_CA_BUNDLE would win over session.verify
    assert log_in(session, caddy).status_code == 302
    with session.get(caddy.url("/events/alarms"), stream=True, timeout=20) as stream, \
            Probe(mosquitto.host, mosquitto.port) as probe:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("event:")) == "event: update"
        probe.publish(info_topic("pot-high", "tls-dev"), info("pot-high", "tls-dev"),
                      retain=True)
        assert any("tls-dev" in line for line in lines)


def own_certificate(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_users_own_certificate(console, upstreams, tmp_path):
    cert_path, key_path = own_certificate(tmp_path)
    caddy = start_caddy(console, upstreams, tls=f"{cert_path} {key_path}")
    try:
        answer = served(caddy.url("/login"), str(cert_path))  # verifies only with ours
        assert answer.status_code == 200
    finally:
        caddy.close()
