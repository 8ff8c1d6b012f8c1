"""`python -m listener`: MQTT readings into InfluxDB, configured by the environment.

    python -m listener               run until SIGTERM / SIGINT
    python -m listener --setup       create the database, retention policies and continuous
                                     query, then exit (needs an InfluxDB admin)
    python -m listener --healthcheck exit 0 when the running listener is connected and working

Exit status: 0 on a clean stop, 1 on failure, 2 on invalid configuration.
"""

import argparse
import logging
import signal
import sys
import threading
import time

from listener.config import read_settings
from service_common.heartbeat import heartbeat_problem
from service_common.logs import setup_logging
from service_common.startup import settings_or_exit

log = logging.getLogger("listener")

HEARTBEAT_MAX_AGE = 15.0   # seconds; the writer refreshes the heartbeat every second
SETUP_WAIT = 60.0          # how long --setup waits for InfluxDB to come up


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m listener", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--setup", action="store_true",
                      help="create the database, retention policies and continuous query; exit")
    mode.add_argument("--healthcheck", action="store_true",
                      help="exit 0 when the running listener is healthy, else 1")
    args = parser.parse_args(argv)
    settings = settings_or_exit("listener", read_settings)
    if args.healthcheck:
        return healthcheck(settings)
    setup_logging(settings.log_level)
    if args.setup:
        return setup(settings)
    return run(settings)


def healthcheck(settings):
    problem = heartbeat_problem(settings.heartbeat_path, HEARTBEAT_MAX_AGE)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


def setup(settings):
    from listener.store import NotAuthorized, SetupRefused, Unavailable, open_store

    influx = open_store(settings.influx, timeout=10)
    deadline = time.monotonic() + SETUP_WAIT
    while True:
        try:
            influx.prepare(settings.retention, settings.downsample_retention,
                         settings.downsample_interval)
        except Unavailable as error:
            if time.monotonic() > deadline:
                log.error("set-up failed: %s", error)
                return 1
            time.sleep(1)
            continue
        except (NotAuthorized, SetupRefused) as error:
            log.error("set-up failed: %s", error)
            return 1
        log.info("database %r, retention policies and continuous query are set up",
                 settings.influx.database)
        return 0


def run(settings):
    from listener.app import Listener

    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    listener = Listener(settings).start()
    while not stopping.wait(1):
        pass
    log.info("stopping")
    listener.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
