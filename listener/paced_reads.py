"""A paho client that wakes less often and reads its socket in large chunks.

On a busy Pi what a reading costs the listener is mostly waking up for it: each wake is a
context switch and caches filled anew, several times the work of parsing and batching the
reading (docs/performance.md, "Paced reads"). paho wakes for whatever has arrived, often a
single reading, and reads each packet with three `recv` calls after a `select`. Here:

- Read-ahead: one `recv` takes what the kernel holds, up to CHUNK bytes, and paho's small reads
  are served from it; a wake handles packets until a read finds the socket empty, without
  another `select`.
- Paced reads, for streams: while packets come at STREAM_RATE or more (counted over
  RATE_WINDOW), the client does not wait in `select` but reads every READ_PACE, taking what
  came meanwhile: one wake per READ_PACE however fast packets come, and a packet waits at most
  READ_PACE longer. Slower traffic is read as it comes (a wait would not save wakes there), and
  a backlog is read without any wait.

Both sit on paho's contract for socket-like objects: `recv`, `pending()` (bytes readable without
waiting, as TLS sockets have; paho skips `select` while there are some, and so while a stream is
being paced), and the socket's other methods unchanged. An empty buffer reads the socket and
raises what the socket raises, so paho sees what it would have seen.
"""

import ssl
import time

import paho.mqtt.client as mqtt

from service_common.mqtt import make_client

CHUNK = 65536
READ_PACE = 0.010       # seconds
STREAM_RATE = 400       # packets/s from which reads are paced: 4 or more per READ_PACE
RATE_WINDOW = 0.1       # seconds
# Packets handled from the buffer before paho's loop looks at its other work (writes, pings).
DRAIN_PACKETS = 256


class ReadBuffer:
    """A non-blocking stream socket (plain or TLS), read ahead by up to CHUNK bytes.

    `empty`: the last read found the socket empty, at time.monotonic() `drained_at`;
    `streaming`: reads are paced, and `pending()` says so to keep paho out of `select`."""

    __slots__ = ("_sock", "_inner_pending", "_data", "_at", "empty", "drained_at", "streaming")

    def __init__(self, sock):
        self._sock = sock
        self._inner_pending = getattr(sock, "pending", None)  # TLS: decrypted, not yet taken
        self._data = b""
        self._at = 0
        self.empty = False
        self.drained_at = 0.0
        self.streaming = False

    def recv(self, size):
        at = self._at
        data = self._data
        if at < len(data):
            self._at = at + size
            return data[at:at + size]
        try:
            data = self._sock.recv(CHUNK if size < CHUNK else size)
        except (BlockingIOError, ssl.SSLWantReadError):
            self.empty = True
            self.drained_at = time.monotonic()
            raise
        self.empty = False
        if len(data) <= size:
            self._data = b""
            self._at = 0
            return data
        self._data = data
        self._at = size
        return data[:size]

    def buffered(self):
        """Bytes read from the socket and not yet taken."""
        return max(len(self._data) - self._at, 0)

    def pending(self):
        return (self.buffered() + (self._inner_pending() if self._inner_pending else 0)
                + self.streaming)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class PacedReadClient(mqtt.Client):
    """paho's Client over a ReadBuffer (TCP, TLS, unix sockets; websockets as paho makes them).
    `read_pace` (seconds, 0: off) is READ_PACE unless set."""

    read_pace = READ_PACE
    _window_start = 0.0
    _window_packets = 0

    def _create_socket(self):
        sock = super()._create_socket()
        return sock if self._transport == "websockets" else ReadBuffer(sock)

    def loop_read(self, max_packets=1):
        sock = self._sock
        if type(sock) is not ReadBuffer:
            return super().loop_read(max_packets)
        now = time.monotonic()
        if now - self._window_start >= RATE_WINDOW:
            sock.streaming = bool(self.read_pace) and (
                self._window_packets >= STREAM_RATE * (now - self._window_start))
            self._window_start, self._window_packets = now, 0
        if sock.streaming and not sock.buffered():
            wait = sock.drained_at + self.read_pace - now
            if wait > 0:
                time.sleep(wait)
        rc = mqtt.MQTT_ERR_SUCCESS
        for _ in range(DRAIN_PACKETS):  # on until the socket is found empty
            rc = super().loop_read(max_packets)
            if rc != mqtt.MQTT_ERR_SUCCESS or self._sock is not sock or sock.empty:
                break
            self._window_packets += 1
        return rc


def paced_read_client(mqtt_settings, **options):
    """service_common.mqtt.make_client's client, as a PacedReadClient."""
    return make_client(mqtt_settings, client_class=PacedReadClient, **options)
