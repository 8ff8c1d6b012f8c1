"""Starting the harness's servers from fixtures: a missing binary skips the test, or fails it in
CI (CI=true), and every server a fixture started is closed afterwards."""

from devstack.servers import ServerMissing
from tests.support.ci import missing


def _require(server_class, **kwargs):
    try:
        return server_class(**kwargs)
    except ServerMissing as error:
        missing(str(error))


def starter(server_class):
    """A factory fixture's body: yields `start(**options)`, which starts a `server_class` and
    returns it; every server it started is closed afterwards."""
    started = []

    def start(**options):
        server = _require(server_class, **options)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.close()
