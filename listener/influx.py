"""InfluxDB 1.x: batch writes in line protocol and the schema set-up (database, retention
policies, downsampling continuous query). Errors are sorted into "retry later" and "refused
for good", so one bad point can never block the rest."""

import logging
import re
from contextlib import contextmanager

import requests
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError

log = logging.getLogger(__name__)

RAW_POLICY = "raw"
DOWNSAMPLED_POLICY = "downsampled"
CONTINUOUS_QUERY = "downsample"

_DROPPED = re.compile(rb"dropped=(\d+)")
_UNPARSEABLE = b"unable to parse"


class InfluxError(Exception):
    """A write or set-up that did not happen; the data stays held and is tried again."""


class Unavailable(InfluxError):
    """InfluxDB cannot take the write now (down, overloaded, timing out): retry later."""


class DatabaseMissing(Unavailable):
    """The database is gone (dropped while running): set it up again, then retry."""


class NotAuthorized(InfluxError):
    """InfluxDB answered 401/403: wrong credentials, or the user lacks the privilege (writing,
    or the schema statements that InfluxDB 1.x reserves to admins)."""


class SetupRefused(InfluxError):
    """InfluxDB refused a schema statement for another reason than the user's rights."""


def make_client(influx, timeout=10):
    host, port, ssl, path = influx.parts
    return InfluxDBClient(host=host, port=port, username=influx.username,
                          password=influx.password, database=influx.database, ssl=ssl,
                          verify_ssl=ssl, timeout=timeout, retries=1, path=path)


class Influx:
    def __init__(self, influx, timeout=10):
        self.settings = influx
        self.client = make_client(influx, timeout)
        self._params = {"db": influx.database, "precision": "n"}
        self._headers = {"Content-Type": "application/octet-stream"}

    def write(self, data, points):
        """Write line-protocol bytes; return how many points InfluxDB refused for good.

        Raises NotAuthorized (401/403), DatabaseMissing or Unavailable when the whole batch
        should be retried later. A partial write names each refused line: points InfluxDB
        dropped (`dropped=N`, e.g. a field type conflict) plus lines it could not parse.
        """
        try:
            with self._retryable():
                self.client.request(url="write", method="POST", params=self._params, data=data,
                                    expected_response_code=204, headers=self._headers)
            return 0
        except InfluxDBClientError as error:
            body = error.content if isinstance(error.content, bytes) else str(error).encode()
            if error.code == 404:
                raise DatabaseMissing(_text(body)) from error
            if error.code in (401, 403):
                raise NotAuthorized(f"HTTP {error.code}: {_text(body)}") from error
            refused = refused_points(body, points)
            log.warning("InfluxDB refused %d of %d points: %s", refused, points, _text(body))
            return refused

    def setup(self, retention, downsample_retention, downsample_interval):
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

    def database_exists(self):
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
