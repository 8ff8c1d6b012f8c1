"""TCP tuning of the MQTT socket, so a publish-and-wait takes a round trip and not 40 ms more."""

import logging
import socket

log = logging.getLogger(__name__)


def no_delay(sock):
    """Small QoS 1 packets must not wait for Nagle's algorithm (40 ms with delayed ACKs)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as error:
        log.debug("could not set TCP_NODELAY: %s", error)


def quick_ack(sock):
    """Send the TCP ACK for the PUBACK just read now, not up to 40 ms later.

    A broker without `set_tcp_nodelay true` holds each further PUBACK until the previous one
    is ACKed (Nagle), and Linux delays that ACK; switching quick-ack on sends a pending ACK at
    once. The kernel leaves quick-ack mode again by itself, hence once per PUBACK.
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is None or sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)
    except (OSError, AttributeError) as error:
        log.debug("could not set TCP_QUICKACK: %s", error)
