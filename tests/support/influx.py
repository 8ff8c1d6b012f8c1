"""What the listener stored: queries on the test database of the harness's InfluxDB."""

from influxdb.exceptions import InfluxDBClientError

from devstack.wait import wait_until
from listener.stats import Stats

DATABASE = "test"


def points(db, query):
    """Rows of `query`; none while the listener has not created the database yet."""
    try:
        return list(db.query(query, epoch="ns").get_points())
    except InfluxDBClientError as error:
        if "database not found" in str(error):
            return []
        raise


def count(db, measurement="pot", field="value"):
    found = points(db, f'SELECT count("{field}") FROM "{measurement}"')  # noqa: S608
    return found[0]["count"] if found else 0


def wait_count(db, expected, measurement="pot", timeout=30, service=None):
    def reached():
        return count(db, measurement) >= expected
    try:
        wait_until(reached, timeout, interval=0.1)
    except TimeoutError:
        services = service if isinstance(service, (list, tuple)) else [service] if service else []
        log = "".join(f"\n{s.name} log:\n{s.log()}" for s in services)
        raise AssertionError(f"{count(db, measurement)} of {expected} {measurement} points "
                             f"stored{log}") from None
    return count(db, measurement)


# The fields every listener_stats line carries (a new Stats has none of the broker's counters,
# which are written only once seen).
STATS_FIELDS = frozenset(Stats().fields())


def latest_stats(db, client_id="listener"):
    """The newest complete listener_stats line of `client_id`, or {}.

    A query that meets InfluxDB 1.x while it applies a write can see only some of a line's
    fields (the others read None), so the newest row with all of them is the one returned."""
    # Not the per-device seq_missing lines (tag device), written at the same time.
    query = f"SELECT * FROM listener_stats WHERE client_id = '{client_id}' AND device = ''"  # noqa: S608
    for row in points(db, query + " ORDER BY time DESC LIMIT 3"):
        if all(row.get(field) is not None for field in STATS_FIELDS):
            return row
    return {}
