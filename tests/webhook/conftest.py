"""Fixtures for the webhook: Grafana's payloads, the Flask app on an in-memory link (no server),
the Flask app against the harness broker, and the real `python -m webhook` process (waitress)
for restart, outage and kill -9 tests."""

import base64
import copy
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from tests.webhook.fakes import FakeLink
from webhook import close_app, create_app
from webhook.config import read_config
from webhook.publisher import AlertPublisher

PAYLOADS = Path(__file__).parent / "payloads"
REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "grafana", "test-password-not-secret"
AUTH = (USER, PASSWORD)


def load_payload(name):
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def unified(*alerts, status=None):
    """A unified notification around `alerts`, built on Grafana's documented example."""
    body = load_payload("grafana_docs_two_firing")
    body["alerts"] = [copy.deepcopy(a) for a in alerts]
    if status:
        body["status"] = status
    return body


def grouped(alertname, *alerts, **extra):
    """A unified notification of Grafana grouped by alertname (the provisioned policy): the
    whole state of `alertname`."""
    return {**unified(*alerts), "groupLabels": {"alertname": alertname}, **extra}


def instance(alertname, status="firing", fingerprint=None, **labels):
    """One alert of Grafana's documented example with its alertname, status and labels changed."""
    alert = copy.deepcopy(load_payload("grafana_docs_two_firing")["alerts"][0])
    alert["labels"] = {"alertname": alertname, **labels}
    alert["status"] = status
    alert["fingerprint"] = fingerprint or f"fp-{alertname}-{sorted(labels.items())}"
    return alert


def http(url, path, payload=None, auth=AUTH, method=None):
    """(status, decoded JSON) of one request to a running webhook."""
    body = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url + path, data=body, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


FIXTURE_NAMES = sorted(p.stem for p in PAYLOADS.glob("*.json"))


def random_json(rng, depth=0):
    """Random JSON biased towards the keys and values notifications use."""
    kinds = ["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        keys = ["alerts", "labels", "alertname", "status", "fingerprint", "device", "ruleName",
                "state", "ruleId", "evalMatches", "tags", "message", "x"]
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {"null": None, "bool": rng.random() < 0.5, "int": rng.randint(-5, 5),
            "float": rng.random(), "str": rng.choice(["firing", "resolved", "alerting", "ok",
                                                      "Pot high", "", "a/b", "TestAlert"])}[kind]


def mutate(rng, value):
    """`value` with one randomly chosen node replaced by random JSON."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key])}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return value[:index] + [mutate(rng, value[index])] + value[index + 1:]
    return random_json(rng, depth=2)


def webhook_env(broker=None, **extra):
    env = {
        "MQTT_HOST": broker.host if broker else "127.0.0.1",
        "MQTT_PORT": str(broker.port if broker else 1883),
        "MQTT_KEEPALIVE": "5",
        "WEBHOOK_USERNAME": USER,
        "WEBHOOK_PASSWORD": PASSWORD,
        "WEBHOOK_PUBLISH_TIMEOUT": "2",
        "WEBHOOK_HOST": "127.0.0.1",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def app_factory():
    """`app_factory(retained=None, **env)`: a Flask app whose publisher runs on a FakeLink (no
    broker), started and restored; the link is `app.link`."""

    def make(retained=None, **extra):
        config = read_config(webhook_env(**extra))
        link = FakeLink(retained)
        publisher = AlertPublisher(config, link=link)
        app = create_app(config, publisher=publisher)
        publisher.start()
        wait_until(lambda: link.online, 5, message="the webhook never said online")
        app.link = link
        return app

    return make


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def broker_app_factory(mosquitto):
    """`broker_app_factory(broker=None, wait=True, **env)`: a Flask app connected to the harness
    broker, closed afterwards."""
    apps = []

    def make(broker=None, wait=True, **extra):
        app = create_app(read_config(webhook_env(broker or mosquitto, **extra)))
        apps.append(app)
        if wait:
            publisher = app.extensions["alert_publisher"]
            wait_until(lambda: publisher.ready, 10, message="webhook did not restore its state")
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def webhook_service(mosquitto):
    """`webhook_service(broker=None, **env)`: the real `python -m webhook` on a free port."""
    started = []

    def start(broker=None, **extra):
        port = free_port()
        env = webhook_env(broker or mosquitto, WEBHOOK_PORT=port, PYTHONPATH=REPO, **extra)
        service = Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                          ready=lambda: port_open(port), port=port)
        started.append(service)
        service.url = f"http://127.0.0.1:{port}"
        return service.start()

    yield start
    for service in started:
        service.close()
