"""InfluxDB 1.x: batch writes in line protocol and the schema set-up (database, retention
policies, downsampling continuous query). Errors are sorted into "retry later" and "refused
for good", so one bad point can never block the rest."""

import base64
import http.client
import logging
import re
import ssl
from contextlib import contextmanager
from urllib.parse import urlencode

import requests
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError

from listener.line_protocol import Encoder
from listener.store import (  # noqa: F401 - re-exported for the callers of this module
    DatabaseMissing,
    NotAuthorized,
    SetupRefused,
    StoreError,
    Unavailable,
)

log = logging.getLogger(__name__)

RAW_POLICY = "raw"
DOWNSAMPLED_POLICY = "downsampled"
CONTINUOUS_QUERY = "downsample"

_DROPPED = re.compile(rb"dropped=(\d+)")
_UNPARSEABLE = b"unable to parse"


# The store-neutral errors (listener.store); InfluxError is the old name of StoreError.
InfluxError = StoreError


def make_client(influx, timeout=10):
    host, port, ssl, path = influx.parts
    return InfluxDBClient(host=host, port=port, username=influx.username,
                          password=influx.password, database=influx.database, ssl=ssl,
                          verify_ssl=ssl, timeout=timeout, retries=1, path=path)


class Influx:
    """The InfluxDB 1.x store (listener.store.Store)."""

    def __init__(self, influx, timeout=10):
        self.settings = influx
        self.encoder = Encoder()
        self.client = make_client(influx, timeout)
        self._writes = _WriteConnection(influx, timeout)

    def write(self, data, points):
        """Write line-protocol bytes; return how many points InfluxDB refused for good.

        Raises NotAuthorized (401/403), DatabaseMissing or Unavailable when the whole batch
        should be retried later. A partial write names each refused line: points InfluxDB
        dropped (`dropped=N`, e.g. a field type conflict) plus lines it could not parse.
        """
        status, body = self._writes.post(data)
        if status == 204:
            return 0
        if status == 404:
            raise DatabaseMissing(_text(body))
        if status in (401, 403):
            raise NotAuthorized(f"HTTP {status}: {_text(body)}")
        if status >= 500 or status != 400:
            raise Unavailable(f"HTTP {status}: {_text(body)}")
        refused = refused_points(body, points)
        log.warning("InfluxDB refused %d of %d points: %s", refused, points, _text(body))
        return refused

    def close(self):
        self._writes.close()

    def prepare(self, retention, downsample_retention, downsample_interval):
        """Create or update the database, policies and continuous query; safe to repeat."""
        database = self.settings.database
        try:
            with self._retryable():
                self._query(f'CREATE DATABASE "{database}"')
                policies = {p["name"]: p
                            for p in self.client.get_list_retention_policies(database)}
                self._policy(RAW_POLICY, retention, default=True, exists=RAW_POLICY in policies)
                self._policy(DOWNSAMPLED_POLICY, downsample_retention, default=False,
                             exists=DOWNSAMPLED_POLICY in policies)
                self._continuous_query(downsample_interval)
        except InfluxDBClientError as error:
            if error.code in (401, 403) or "privilege" in str(error):
                raise NotAuthorized(str(error)) from error
            raise SetupRefused(str(error)) from error

    @contextmanager
    def _retryable(self):
        """Turn the errors worth retrying later (network, 5xx) into Unavailable."""
        try:
            yield
        except requests.exceptions.RequestException as error:  # connection, timeout, protocol
            raise Unavailable(f"cannot reach {self.settings.url}: {type(error).__name__}") \
                from error
        except InfluxDBServerError as error:
            raise Unavailable(f"server error: {_text(error.content)}") from error

    def exists(self):
        try:
            return any(d["name"] == self.settings.database
                       for d in self.client.get_list_database())
        except (requests.exceptions.RequestException, InfluxDBClientError, InfluxDBServerError):
            return False

    def _policy(self, name, duration, default, exists):
        verb = "ALTER" if exists else "CREATE"
        replication = "" if exists else " REPLICATION 1"
        self._query(f'{verb} RETENTION POLICY "{name}" ON "{self.settings.database}" '
                    f'DURATION {duration}{replication}{" DEFAULT" if default else ""}')

    def _continuous_query(self, interval):
        database = self.settings.database
        existing = {q["name"]: q["query"]
                    for db in self.client.get_list_continuous_queries()
                    for name, queries in db.items() if name == database
                    for q in queries}
        wanted = None
        if interval:
            # Names come from validated settings, never from received data.
            select = (f'SELECT mean("value") AS "value" '  # noqa: S608
                      f'INTO "{database}"."{DOWNSAMPLED_POLICY}".:MEASUREMENT '
                      f'FROM "{database}"."{RAW_POLICY}"./.*/ GROUP BY time({interval}), *')
            wanted = (f'CREATE CONTINUOUS QUERY "{CONTINUOUS_QUERY}" ON "{database}" '
                      f'BEGIN {select} END')
        current = existing.get(CONTINUOUS_QUERY)
        if current is not None and (wanted is None or _canonical(current) != _canonical(wanted)):
            self._query(f'DROP CONTINUOUS QUERY "{CONTINUOUS_QUERY}" ON "{database}"')
            current = None
        if wanted and current is None:
            self._query(wanted)

    def _query(self, statement):
        log.debug("InfluxQL: %s", statement)
        self.client.query(statement, method="POST")


class _WriteConnection:
    """POST /write on one kept-alive http.client connection. The writes are the listener's hot
    path: `requests` (under the influxdb client) cost more per batch than InfluxDB itself."""

    def __init__(self, influx, timeout):
        host, port, tls, path = influx.parts
        self._open = (lambda: http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context())) if tls else \
            (lambda: http.client.HTTPConnection(host, port, timeout=timeout))
        self._url = f"{path}/write?" + urlencode({"db": influx.database, "precision": "n"})
        self._headers = {"Content-Type": "application/octet-stream"}
        if influx.username:
            token = f"{influx.username}:{influx.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        self._where = influx.url
        self._connection = None

    def post(self, data):
        """(status, body) of one write; Unavailable when InfluxDB cannot be reached. A kept-alive
        connection the server closed meanwhile is opened again once."""
        for attempt in (1, 2):
            fresh = self._connection is None
            if fresh:
                self._connection = self._open()
            try:
                self._connection.request("POST", self._url, body=data, headers=self._headers)
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if fresh or attempt == 2:
                    raise Unavailable(f"cannot reach {self._where}: {type(error).__name__}: "
                                      f"{error}") from error
                continue
            if response.will_close:
                self.close()
            return response.status, body
        raise AssertionError("unreachable")

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def refused_points(body, points):
    """How many of `points` a 400 answer refused: `dropped=N` plus the unparseable lines, or
    all of them when the answer names neither (the whole body was refused)."""
    dropped = _DROPPED.search(body)
    unparseable = body.count(_UNPARSEABLE)
    if not dropped and not unparseable:
        return points
    return min(points, (int(dropped.group(1)) if dropped else 0) + unparseable)


def _canonical(query):
    return re.sub(r'[\s"]', "", query)


def _text(content):
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content).strip()[:300]
