"""`python -m opcua_bridge`: OPC UA subscriptions into MQTT readings, configured by the
environment (OPCUA_*, MQTT_*) and the nodes file.

    python -m opcua_bridge                 run until SIGTERM / SIGINT
    python -m opcua_bridge browse [--yaml] print every variable of the server (node id, browse
                                           path, data type, value); --yaml: a nodes-file skeleton
    python -m opcua_bridge --healthcheck   exit 0 when the running bridge has an OPC UA session

Exit status: 0 on a clean stop, 1 on failure, 2 on invalid configuration.
"""

import argparse
import asyncio
import logging
import signal
import sys
import time

from opcua_bridge.config import read_settings
from service_common.heartbeat import heartbeat_problem
from service_common.logs import setup_logging
from service_common.startup import settings_or_exit

log = logging.getLogger("opcua_bridge")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m opcua_bridge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--healthcheck", action="store_true",
                        help="exit 0 when the running bridge has a live OPC UA session, else 1")
    commands = parser.add_subparsers(dest="command")
    browse = commands.add_parser("browse", help="print every variable of the server")
    browse.add_argument("--yaml", action="store_true", help="print a nodes-file skeleton")
    args = parser.parse_args(argv)
    settings = settings_or_exit("opcua_bridge", read_settings,
                                with_nodes=args.command != "browse" and not args.healthcheck)
    if args.healthcheck:
        return healthcheck(settings)
    setup_logging(settings.log_level)
    # asyncua logs every request at INFO; its warnings and errors are what a user needs, without
    # a traceback for a connection that went away (the session logs that in one line).
    asyncua_log = logging.getLogger("asyncua")
    asyncua_log.setLevel(max(logging.WARNING, logging.getLogger().level))
    for handler in logging.getLogger().handlers:
        handler.addFilter(_no_traceback_for_lost_connections)
    if args.command == "browse":
        from opcua_bridge.browse import browse_main

        return asyncio.run(browse_main(settings, as_yaml=args.yaml))
    return run(settings)


def _no_traceback_for_lost_connections(record):
    if record.exc_info and isinstance(record.exc_info[1], (ConnectionError, OSError)):
        record.msg = f"{record.msg} ({str(record.exc_info[1]).replace('%', '%%')})"
        record.exc_info = record.exc_text = None
    return True


def healthcheck(settings):
    """Healthy: the stats timer wrote the heartbeat lately, and a session was open then."""
    problem = heartbeat_problem(settings.heartbeat, max(30.0, 3 * settings.stats_interval))
    if problem is None:
        try:
            if settings.heartbeat.read_text().strip() != "1":
                problem = "no OPC UA session"
        except OSError:
            problem = "no heartbeat file"
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


def run(settings):
    from opcua_bridge.mqtt_out import MqttOut
    from opcua_bridge.session import Session
    from opcua_bridge.stats import Stats

    stats = Stats()
    out = MqttOut(settings.mqtt, settings.buffer_size, replay_size=settings.replay_size,
                  replay_delay=settings.replay_delay)
    session = Session(settings, out, stats)
    out.on_write = session.request_write   # refused unless the nodes file declares it writable
    out.start()

    async def serve():
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        reporter = asyncio.ensure_future(report(stopping))
        follower = asyncio.ensure_future(session.follow_nodes_file(stopping))
        await session.run(stopping)
        await reporter
        await follower

    async def report(stopping):
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), settings.stats_interval)
            except TimeoutError:
                pass
            buffered = out.buffered
            if buffered == 0:
                stats.buffer_drained()
            stats.replayed = out.replayed
            out.refresh_marker()
            out.publish_counters(stats.values(buffered), int(time.time() * 1000))
            try:
                settings.heartbeat.write_text(f"{stats.session_state}\n")
            except OSError as error:
                log.warning("cannot write the heartbeat file: %s", error)

    log.info("bridging %d nodes of %s into %s:%d", len(settings.nodes), settings.endpoint,
             settings.mqtt.host, settings.mqtt.port)
    try:
        asyncio.run(serve())
    finally:
        log.info("stopping")
        out.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
