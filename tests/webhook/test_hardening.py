"""Issue 11's webhook rows against the real broker and the real `python -m webhook` (waitress):
a client that misbehaves cannot starve, wedge or mislead the webhook."""

import json
import socket
import sys
import time

from devstack.mqtt_probe import Probe, read_retained
from devstack.paths import ROOT
from devstack.servers import Service, free_port, port_open
from devstack.wait import wait_until
from tests.support.webhook import AUTH, USER, grouped, http, instance, unified, webhook_env
from webhook.config import WebhookConfig

STATE = "alerts/_webhook/webhook/state"


def healthy(service):
    return http(service.url, "/healthz", auth=None)[0] == 200


def open_sockets(port, count, first_bytes=b"", source="127.0.0.1"):
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                        source_address=(source, 0))
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def test_150_idle_and_slow_connections_do_not_starve_a_normal_request(webhook_service):
    service = webhook_service()
    wait_until(lambda: healthy(service), 15)
    # From 10 other addresses: one address may hold only WEBHOOK_CONNECTIONS_PER_ADDRESS.
    idle = [sock for i in range(5) for sock in open_sockets(service.port, 20,
                                                             source=f"127.0.0.{i + 2}")]
    slow = [sock for i in range(5) for sock in open_sockets(
        service.port, 10, b"POST /alert HTTP/1.1\r\nHost: webhook\r\n", f"127.0.1.{i + 2}")]
    try:
        status, _ = http(service.url, "/alert", unified(instance("Pot high", fingerprint="a")))
        assert status == 200
    finally:
        for sock in idle + slow:
            sock.close()


def test_idle_connections_are_closed_so_the_limit_frees_itself(webhook_service):
    service = webhook_service(WEBHOOK_CONNECTION_LIMIT=8, WEBHOOK_CHANNEL_TIMEOUT=1)
    wait_until(lambda: healthy(service), 15)
    idle = open_sockets(service.port, 8)
    try:
        wait_until(lambda: all(sock.recv(1) == b"" for sock in idle), 15,
                   message="idle connections were not closed")
        assert http(service.url, "/alert", unified(instance("Pot high")))[0] == 200
    finally:
        for sock in idle:
            sock.close()


def test_listens_on_loopback_unless_told_otherwise(mosquitto):
    port = free_port()
    env = {**webhook_env(mosquitto, WEBHOOK_PORT=port, PYTHONPATH=ROOT), "WEBHOOK_HOST": ""}
    with Service("webhook", [sys.executable, "-m", "webhook"], env=env,
                 ready=lambda: port_open(port)) as service:
        wait_until(lambda: "serving on" in service.log_tail(), 10)
        assert f"serving on http://127.0.0.1:{port}/alert" in service.log_tail()


def test_refused_requests_are_logged_once_per_interval_with_counts_and_address(webhook_service):
    service = webhook_service(WEBHOOK_REFUSAL_LOG_INTERVAL=1)
    wait_until(lambda: healthy(service), 15)
    began = time.monotonic()
    for _ in range(8):  # fewer than the login throttle's burst (tests/ingest/test_throttle.py)
        assert http(service.url, "/alert", {}, auth=(USER, "wrong"))[0] == 401
    assert http(service.url, "/alert", [1])[0] == 422

    def refusal_lines():
        return [line for line in service.log_tail(200).splitlines() if "refused" in line]

    wait_until(lambda: sum(_count(line) for line in refusal_lines()) == 9, 10,
               message=f"refusals not all logged: {refusal_lines()}")
    # The first refusal is logged at once; after it a refusal logs at most one line per 1 s
    # interval, and the stats reporter flushes what is left once per stats interval: however
    # long a busy machine takes over the requests, that bounds the lines.
    took = time.monotonic() - began
    most = 2 + int(took / 1) + int(took / WebhookConfig.stats_interval)
    assert len(refusal_lines()) <= most, "one line per interval, not one per request"
    assert all("from 127.0.0.1 x" in line for line in refusal_lines())
    assert any("401 unauthorized x" in line for line in refusal_lines())
    assert any("422 not_a_notification x1" in line for line in refusal_lines())


def _count(line):
    return int(line.split("refused ")[1].split(" requests")[0])


def test_counters_are_published_as_readings(webhook_service, mosquitto):
    with Probe(mosquitto.host, mosquitto.port, ["sensors/webhook/#"]) as probe:
        service = webhook_service(WEBHOOK_STATS_INTERVAL=0.5)
        wait_until(lambda: healthy(service), 15)
        probe.wait_for("sensors/webhook/unauthorized", b"0")
        assert http(service.url, "/alert", {}, auth=(USER, "wrong"))[0] == 401
        probe.wait_for("sensors/webhook/unauthorized", b"1")
        probe.wait_for("sensors/webhook/state_full", b"0")
        assert not any(retain for _, _, retain in probe.received())


def _seed(broker, messages):
    with Probe(broker.host, broker.port) as probe:
        infos = [probe.client.publish(t, p, qos=1, retain=True) for t, p in messages.items()]
        for info in infos:
            info.wait_for_publish(10)


def test_restore_is_bounded_whatever_the_broker_retains(mosquitto_factory, broker_app_factory):
    # A small queue limit, as after 104,000 instances: a restore that read alerts/# lost its
    # sync marker to it and never finished.
    broker = mosquitto_factory(config="max_queued_messages 20\n")
    junk = {f"alerts/junk-{n}/device-{n}": b"1" for n in range(2000)}
    document = (b'{"alerts":{"pot-high":{"devices":{},"firing":{"f":null},"changed":0}},'
                b'"version":2}')
    _seed(broker, {**junk, STATE: document})
    app = broker_app_factory(broker, wait=False)
    publisher = app.extensions["alert_publisher"]
    wait_until(lambda: publisher.ready, 15, message="restore did not finish")
    wait_until(lambda: read_retained(broker.host, broker.port, "alerts/pot-high") == b"1", 10)


def test_online_is_said_only_after_the_restored_state_is_published(mosquitto,
                                                                   broker_app_factory):
    document = (b'{"alerts":{"pot-high":{"devices":{},"firing":{"f":null},"changed":0}},'
                b'"version":2}')
    _seed(mosquitto, {STATE: document, "status/webhook": b"offline"})
    with Probe(mosquitto.host, mosquitto.port, ["status/webhook", "alerts/pot-high"]) as probe:
        probe.wait_for("status/webhook", b"offline")
        broker_app_factory()
        probe.wait_for("status/webhook", b"online")
        order = [(t, p) for t, p, _ in probe.received()]
        assert order.index(("alerts/pot-high", b"1")) < order.index(("status/webhook", b"online"))


def test_state_is_bounded_and_a_restart_restores_it_quickly(webhook_service, mosquitto):
    service = webhook_service(WEBHOOK_STATE_MAX_ENTRIES=20)
    wait_until(lambda: healthy(service), 15)
    many = grouped("Pot high", *[instance("Pot high", fingerprint=f"f{n}", device=f"d{n}")
                                 for n in range(30)])
    status, answer = http(service.url, "/alert", many)
    assert status == 200
    counts = http(service.url, "/healthz", auth=None)[1]["counts"]
    assert counts["state_full"] == 10
    assert read_retained(mosquitto.host, mosquitto.port, "alerts/pot-high/d0") == b"1"
    assert read_retained(mosquitto.host, mosquitto.port, "alerts/pot-high/d29") is None
    service.restart()
    wait_until(lambda: healthy(service), 15, message="no restore after restart")
    status, answer = http(service.url, "/alert", grouped("Pot high"))
    assert answer["published"]["alerts/pot-high"] == "0"
    assert answer["published"]["alerts/pot-high/d19"] == "0"


def test_a_device_resolved_long_ago_leaves_the_retained_state(broker_app_factory, mosquitto):
    app = broker_app_factory(WEBHOOK_STATE_FORGET_AFTER=60)
    publisher, client = app.extensions["alert_publisher"], app.test_client()

    def post(*alerts):
        return client.post("/alert", json=grouped("Pot high", *alerts), auth=AUTH)

    assert post(instance("Pot high", "firing", "a", device="old")).status_code == 200
    assert post(instance("Pot high", "resolved", "a", device="old")).status_code == 200
    state = json.loads(read_retained(mosquitto.host, mosquitto.port, STATE))
    assert "old" in state["alerts"]["pot-high"]["devices"]
    publisher.clock = lambda: time.time() + 61  # a minute later
    assert post(instance("Pot high", "firing", "b", device="new")).status_code == 200
    state = json.loads(read_retained(mosquitto.host, mosquitto.port, STATE))
    assert list(state["alerts"]["pot-high"]["devices"]) == ["new"]
    assert client.get("/healthz").json["counts"]["state_forgotten"] == 1
