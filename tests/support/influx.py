"""What the listener stored: queries on the test database of the harness's InfluxDB."""

from influxdb.exceptions import InfluxDBClientError

from devstack.wait import wait_until

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


def latest_stats(db, client_id="listener"):
    # Not the per-device seq_missing lines (tag device), written at the same time.
    query = f"SELECT * FROM listener_stats WHERE client_id = '{client_id}' AND device = ''"  # noqa: S608
    found = points(db, query + " ORDER BY time DESC LIMIT 1")
    return found[0] if found else {}
