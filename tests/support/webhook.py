"""Grafana's notifications as the webhook tests send them, the webhook's test environment, and
HTTP requests to a running webhook."""

import base64
import copy
import json
import tempfile
import urllib.error
import urllib.request

from devstack.paths import ROOT

PAYLOADS = ROOT / "tests" / "webhook" / "payloads"
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


def basic(auth):
    """The Authorization header of HTTP Basic with `auth` = (user, password)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}


def http(url, path, payload=None, auth=AUTH, method=None):
    """(status, decoded JSON) of one request to a running webhook."""
    body = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url + path, data=body, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", basic(auth)["Authorization"])
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


# Each environment gets its own state folder unless told which (WEBHOOK_STATE_DIR), all inside one
# temporary folder deleted when the test run ends.
_STATE_DIRS = tempfile.TemporaryDirectory(prefix="webhook-state-")


def webhook_env(broker=None, **extra):
    env = {
        "WEBHOOK_STATE_DIR": tempfile.mkdtemp(dir=_STATE_DIRS.name),
        "MQTT_HOST": broker.host if broker else "127.0.0.1",
        "MQTT_PORT": str(broker.port if broker else 1883),
        "MQTT_KEEPALIVE": "5",
        "WEBHOOK_USERNAME": USER,
        "WEBHOOK_PASSWORD": PASSWORD,
        "WEBHOOK_PUBLISH_TIMEOUT": "2",
        "WEBHOOK_HOST": "127.0.0.1",
        # These tests pin the `1`/`0` topics; tests/annunciator runs the annunciator.
        "WEBHOOK_ANNUNCIATOR": "off",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env
