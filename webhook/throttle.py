"""Login throttling for `/alert`, `/ack` and `/ingest`: failed logins drain a token bucket per
client address and one per user name; an empty bucket answers 429 with Retry-After before any
password is checked.

- Per address: one address guesses no faster than `rate` tries a minute after a burst of
  `burst`, whatever the user names (an IPv6 client counts by its /64).
- Per user: all addresses together guess one user's password no faster than that either. An
  address that has logged in as that user before is not held back by the user's bucket, so
  someone guessing Grafana's password from elsewhere cannot lock Grafana out; only its own
  address's failures can delay it (docs/security.md).
- Good logins cost no token. The tables are bounded: the least recently used entries go first
  (a full bucket is the same as none).
"""

import ipaddress
import math
import threading
import time
from collections import OrderedDict

from werkzeug.exceptions import TooManyRequests

EXTENSION = "login_throttle"
DEFAULT_BURST = 10
DEFAULT_PER_MINUTE = 4.0
MAX_ENTRIES = 10_000
GOOD_ADDRESSES_PER_USER = 16


class Throttled(TooManyRequests):
    """Too many failed logins: 429 with Retry-After (counted under `counter` when it reaches
    the app's HTTP error handler)."""

    counter = "throttled"

    def __init__(self, retry_after, why):
        super().__init__(description=f"too many failed logins {why}: try again in "
                                     f"{retry_after} s", retry_after=retry_after)


def address_key(address):
    """An IPv4 address as it is, an IPv6 one by its /64 (one client holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


class _Buckets:
    """Token buckets by key, at most `limit` of them (least recently used dropped)."""

    def __init__(self, burst, per_second, limit):
        self.burst, self.per_second, self.limit = burst, per_second, limit
        self._buckets = OrderedDict()  # key -> (tokens, when)

    def tokens(self, key, now):
        tokens, when = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - when) * self.per_second)

    def take(self, key, now):
        self._buckets[key] = (self.tokens(key, now) - 1, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.limit:
            self._buckets.popitem(last=False)

    def wait(self, key, now):
        """Seconds until `key` has a token again (0 when it has one)."""
        missing = 1 - self.tokens(key, now)
        return 0 if missing <= 0 else max(1, math.ceil(missing / self.per_second))


class LoginThrottle:
    def __init__(self, burst=DEFAULT_BURST, per_minute=DEFAULT_PER_MINUTE,
                 clock=time.monotonic, limit=MAX_ENTRIES):
        self.clock = clock
        self._addresses = _Buckets(burst, per_minute / 60, limit)
        self._users = _Buckets(burst, per_minute / 60, limit)
        self._good = OrderedDict()  # user key -> OrderedDict of addresses that logged in
        self._limit = limit
        self._lock = threading.Lock()

    def check(self, address, user):
        """Raise Throttled when `address`, or `user` from an address it never logged in from,
        has no failure left to spend. `user` is (realm, name)."""
        address = address_key(address)
        with self._lock:
            now = self.clock()
            wait = self._addresses.wait(address, now)
            if wait:
                raise Throttled(wait, "from this address")
            if address not in self._good.get(user, ()):
                wait = self._users.wait(user, now)
                if wait:
                    raise Throttled(wait, "for this user")

    def failed(self, address, user):
        address = address_key(address)
        with self._lock:
            now = self.clock()
            self._addresses.take(address, now)
            if address not in self._good.get(user, ()):
                self._users.take(user, now)

    def succeeded(self, address, user):
        address = address_key(address)
        with self._lock:
            good = self._good.setdefault(user, OrderedDict())
            good[address] = True
            good.move_to_end(address)
            if len(good) > GOOD_ADDRESSES_PER_USER:
                good.popitem(last=False)
            self._good.move_to_end(user)
            while len(self._good) > self._limit:
                self._good.popitem(last=False)

    def login(self, address, realm, username, verify):
        """`verify()` -> the user or None, guarded: Throttled raised before it runs when the
        address or the user has no failure left; its outcome noted."""
        user = (realm, username or "")
        self.check(address, user)
        result = verify()
        if result is None:
            self.failed(address, user)
        else:
            self.succeeded(address, user)
        return result
