"""The webhook's waitress server, hardened against slow clients (slowloris): waitress closes a
connection only after `channel_timeout` seconds without a byte, so a client that sends one
header line every few seconds would hold its slot for ever. Here:

- a request (headers and body) must arrive whole within WEBHOOK_REQUEST_TIMEOUT seconds of its
  first byte, or its connection is closed (counted as `slow_requests_closed`);
- one client address holds at most WEBHOOK_CONNECTIONS_PER_ADDRESS connections at once (an IPv6
  client counts by its /64); more are closed at once (`connections_refused`). The trusted proxy
  (WEBHOOK_TRUSTED_PROXY) is exempt: it carries every client's connections, and waitress takes
  the client's address from its X-Forwarded-For.

So one address cannot hold more than its share of the `connection_limit` slots, and a slot it
holds comes free after the request timeout (docs/security.md).
"""

import time

import waitress
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from webhook.throttle import address_key

# Waitress buffers a whole request body before Flask sees it. Up to this multiple of
# WEBHOOK_MAX_BODY_BYTES Flask answers the JSON 413; beyond it waitress cuts the request short.
WAITRESS_BODY_FACTOR = 4


class GuardedChannel(HTTPChannel):
    """A waitress connection that knows when its current request began."""

    request_started = 0.0
    guard = None  # the Guard of its server

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map)
        self.guard.accepted(self)

    def received(self, data):
        if self.request is None:  # these bytes begin a new request
            self.request_started = time.time()
        return super().received(data)


class Guard:
    """The limits one server applies to its connections."""

    def __init__(self, server, request_timeout, per_address, trusted_proxy, count):
        self.server, self.request_timeout, self.per_address = server, request_timeout, per_address
        self.trusted = address_key(trusted_proxy) if trusted_proxy else None
        self.count = count
        self._maintenance = server.maintenance

    def accepted(self, channel):
        key = address_key(channel.addr[0]) if isinstance(channel.addr, tuple) else None
        if key is None or key == self.trusted:
            return
        same = sum(1 for other in list(self.server.active_channels.values())
                   if other is not channel and isinstance(other.addr, tuple)
                   and address_key(other.addr[0]) == key)
        if same >= self.per_address:
            channel.will_close = True
            self.count("connections_refused")

    def maintenance(self, now):
        """waitress's idle check, then: close connections whose request is overdue."""
        self._maintenance(now)
        cutoff = now - self.request_timeout
        for channel in list(self.server.active_channels.values()):
            if channel.request is not None and not channel.requests \
                    and not channel.will_close and channel.request_started < cutoff:
                channel.will_close = True
                self.count("slow_requests_closed")


def create_server(app, config, count):
    """A waitress server for `app` with the webhook's settings and the slow-client guard;
    `count(name)` counts what the guard closes."""
    proxy = {"trusted_proxy": config.trusted_proxy, "trusted_proxy_count": 1,
             "trusted_proxy_headers": {"x-forwarded-for"}} if config.trusted_proxy else {}
    socket_map = {}
    server = waitress.create_server(
        app, map=socket_map, host=config.host, port=config.port, ident="alertloop-webhook",
        max_request_body_size=config.max_body_bytes * WAITRESS_BODY_FACTOR,
        clear_untrusted_proxy_headers=True,
        # Idle and slow clients cannot hold every connection: many more connections than Grafana
        # needs, each closed after channel_timeout s without a byte, checked every second.
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout,
        cleanup_interval=1,
        **proxy,
    )
    for dispatcher in list(socket_map.values()) or [server]:
        if isinstance(dispatcher, BaseWSGIServer):
            guard = Guard(dispatcher, config.request_timeout, config.connections_per_address,
                          config.trusted_proxy, count)
            dispatcher.maintenance = guard.maintenance
            dispatcher.channel_class = type("Channel", (GuardedChannel,), {"guard": guard})
    return server
