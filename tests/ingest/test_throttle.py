"""Login throttling on `/alert`, `/ack` and `/ingest` (webhook/throttle.py): a burst, then a few
guesses a minute per address and per user, answered 429 with Retry-After before any password
is checked, counted; an address that logged in before is not locked out by others' guesses.
On the in-memory link, with a hand-driven clock."""

import pytest

from tests.support.ingest import INGEST_AUTH, ingest_env
from tests.support.webhook import AUTH, basic
from webhook.throttle import DEFAULT_BURST, DEFAULT_PER_MINUTE, LoginThrottle, address_key

ACK_AUTH = ("operator", "ack-password-not-secret")
READING = {"device": "plc-1", "measurement": "temp", "value": 1}
STEP = 60 / DEFAULT_PER_MINUTE  # seconds that give back one guess


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(app_factory, clock):
    app = app_factory(**ingest_env(ACK_USERNAME=ACK_AUTH[0], ACK_PASSWORD=ACK_AUTH[1],
                                   WEBHOOK_ANNUNCIATOR="isa"))
    app.extensions["login_throttle"] = LoginThrottle(clock=clock)
    client = app.test_client()
    client.app = app
    return client


ENDPOINTS = {  # path, right credentials, counter of a throttled request
    "alert": ("/alert", AUTH, "throttled"),
    "ack": ("/ack/pot-high", ACK_AUTH, "ack_refused_throttled"),
    "ingest": ("/ingest", INGEST_AUTH, "ingest_refused_throttled"),
}


def send(client, endpoint, auth, address="192.0.2.1"):
    path = ENDPOINTS[endpoint][0]
    return client.post(path, json=READING if endpoint == "ingest" else {"alerts": []},
                       headers=basic(auth), environ_base={"REMOTE_ADDR": address})


def counts(client):
    return client.app.extensions["counters"].snapshot()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_after_a_burst_of_wrong_passwords_even_the_right_one_waits(client, clock, endpoint):
    _, right, counter = ENDPOINTS[endpoint]
    wrong = (right[0], "guess")
    for _ in range(DEFAULT_BURST):
        assert send(client, endpoint, wrong).status_code == 401
    answer = send(client, endpoint, right)
    assert answer.status_code == 429
    assert answer.json["error"] == "too many requests"
    assert "too many failed logins" in answer.json["reason"]
    assert int(answer.headers["Retry-After"]) == STEP
    assert counts(client)[counter] == 1
    clock.now += STEP  # one guess given back: a few a minute
    assert send(client, endpoint, wrong).status_code == 401
    assert send(client, endpoint, right).status_code == 429
    clock.now += STEP
    assert send(client, endpoint, right).status_code != 429


def test_the_budget_of_an_address_is_shared_by_every_endpoint_and_user(client):
    for i in range(DEFAULT_BURST):
        endpoint = list(ENDPOINTS)[i % 3]
        assert send(client, endpoint, (f"user-{i}", "guess")).status_code == 401
    assert send(client, "ingest", INGEST_AUTH).status_code == 429


def test_guesses_of_one_user_from_many_addresses_are_throttled_per_user(client, clock):
    for i in range(DEFAULT_BURST):
        assert send(client, "ingest", (INGEST_AUTH[0], "guess"), f"198.51.100.{i}").status_code \
            == 401
    assert send(client, "ingest", INGEST_AUTH, "203.0.113.9").status_code == 429
    assert "for this user" in send(client, "ingest", INGEST_AUTH, "203.0.113.9").json["reason"]
    # Another user from a fresh address is not held back.
    assert send(client, "alert", AUTH, "203.0.113.9").status_code != 429


def test_an_address_that_logged_in_before_is_not_locked_out_by_guesses_elsewhere(client):
    grafana = "10.0.0.5"
    assert send(client, "alert", AUTH, grafana).status_code == 200
    for i in range(3 * DEFAULT_BURST):
        send(client, "alert", (AUTH[0], f"guess-{i}"), f"198.51.100.{i}")
    assert send(client, "alert", AUTH, "203.0.113.9").status_code == 429
    assert send(client, "alert", AUTH, grafana).status_code == 200


def test_a_request_without_credentials_is_401_and_spends_nothing(client):
    for _ in range(3 * DEFAULT_BURST):
        answer = client.post("/ingest", json=READING, environ_base={"REMOTE_ADDR": "192.0.2.1"})
        assert answer.status_code == 401
    assert send(client, "ingest", INGEST_AUTH).status_code == 202


def test_good_logins_spend_nothing(client):
    for _ in range(3 * DEFAULT_BURST):
        assert send(client, "ingest", INGEST_AUTH).status_code == 202


def test_ipv6_clients_count_by_their_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") \
        == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("unknown") == "unknown"


def test_the_tables_stay_bounded():
    clock = Clock()
    throttle = LoginThrottle(clock=clock, limit=100)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", ("ingest", f"user-{i}"))
        throttle.succeeded(f"10.1.{i // 256}.{i % 256}", ("ingest", f"user-{i}"))
    assert len(throttle._addresses._buckets) == len(throttle._users._buckets) == 100
    assert len(throttle._good) == 100
