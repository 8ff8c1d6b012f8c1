"""Slowloris against the real `python -m webhook` (waitress): 510 connections that each send one
header line now and then cannot hold the webhook's slots, `/alert` keeps answering, and the
slow requests are closed after WEBHOOK_REQUEST_TIMEOUT (webhook/http_server.py)."""

import socket
import threading

import pytest

from devstack.wait import wait_until
from tests.support.webhook import http, instance, unified

ATTACKER = "127.0.0.2"  # loopback, but not the address /alert is sent from


def healthy(service):
    return http(service.url, "/healthz", auth=None)[0] == 200


def counts(service):
    return http(service.url, "/healthz", auth=None)[1]["counts"]


class Slowloris:
    """`count` connections from `source`, each sending a request line and then one header line
    every `interval` s, never finishing its headers."""

    def __init__(self, port, count, source=ATTACKER, interval=1.0):
        self.sockets, self.interval = [], interval
        self._stop = threading.Event()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                            source_address=(source, 0))
            sock.sendall(b"POST /alert HTTP/1.1\r\nHost: webhook\r\n")
            self.sockets.append(sock)
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self):
        n = 0
        while not self._stop.wait(self.interval):
            n += 1
            for sock in self.sockets:
                try:
                    sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
                except OSError:
                    pass

    def closed_by_the_server(self):
        """How many of the connections the server has closed."""
        closed = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        return closed

    def close(self):
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def slowloris():
    attacks = []

    def start(*args, **kwargs):
        attacks.append(Slowloris(*args, **kwargs))
        return attacks[-1]

    yield start
    for attack in attacks:
        attack.close()


def test_510_slow_connections_leave_alert_answering(webhook_service, slowloris):
    service = webhook_service()
    wait_until(lambda: healthy(service), 15)
    attack = slowloris(service.port, 510)
    for i in range(4):
        status, _ = http(service.url, "/alert", unified(instance("Pot high", fingerprint=f"{i}")))
        assert status == 200
    assert attack.closed_by_the_server() >= 510 - 32  # WEBHOOK_CONNECTIONS_PER_ADDRESS
    assert counts(service)["connections_refused"] >= 510 - 32


def test_a_request_that_never_completes_is_closed_after_the_request_timeout(webhook_service,
                                                                            slowloris):
    service = webhook_service(WEBHOOK_REQUEST_TIMEOUT=2, WEBHOOK_CHANNEL_TIMEOUT=60)
    wait_until(lambda: healthy(service), 15)
    attack = slowloris(service.port, 5, interval=0.5)
    wait_until(lambda: attack.closed_by_the_server() == 5, 20,
               message="slow requests were not closed")
    assert counts(service)["slow_requests_closed"] == 5
    assert counts(service).get("connections_refused", 0) == 0


def test_the_trusted_proxy_may_hold_more_connections(webhook_service, slowloris):
    service = webhook_service(WEBHOOK_CONNECTIONS_PER_ADDRESS=4, WEBHOOK_TRUSTED_PROXY=ATTACKER,
                              WEBHOOK_REQUEST_TIMEOUT=60)
    wait_until(lambda: healthy(service), 15)
    proxy = slowloris(service.port, 8)
    other = slowloris(service.port, 8, source="127.0.0.3")
    wait_until(lambda: other.closed_by_the_server() == 4, 15)
    assert proxy.closed_by_the_server() == 0
