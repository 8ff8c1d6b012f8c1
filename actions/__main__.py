"""`python -m actions`: drive the outputs of the actions file from the retained alarm state.

`python -m actions --check` validates the settings and the actions file and exits;
`python -m actions --healthcheck` exits 0 while the running service's heartbeat file is fresh;
`python -m actions --acl` prints the broker ACL block the configured outputs need (the command
topics it may write and the state topics it reads), for mosquitto/config/devices.acl.
"""

import argparse
import logging
import signal
import sys
import threading

from actions.config import read_settings
from service_common.heartbeat import heartbeat_problem
from service_common.logs import setup_logging
from service_common.startup import settings_or_exit
from service_common.status import HEARTBEAT_S

log = logging.getLogger("actions")


def acl_block(settings):
    """The `user <actions id>` block that lets the service write exactly the command topics of
    its outputs and read their state topics (docs/actions.md, "Broker rights")."""
    from actions.kinds import make_kind

    lines = [f"# {settings.mqtt.client_id}: the outputs of {settings.actions_file} "
             "(python -m actions --acl)", f"user {settings.mqtt.client_id}"]
    for output in settings.outputs:
        kind = make_kind(output, settings.mqtt)
        lines += [f"topic write {topic}" for topic in kind.command_topics()]
        lines += [f"topic read {topic}" for topic in kind.subscriptions()]
    return "\n".join(dict.fromkeys(lines)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="validate the configuration, exit")
    parser.add_argument("--acl", action="store_true",
                        help="print the broker ACL lines of the configured outputs, exit")
    parser.add_argument("--healthcheck", action="store_true",
                        help="exit 0 while the heartbeat file is fresh")
    args = parser.parse_args(argv)
    settings = settings_or_exit("actions", read_settings, with_outputs=not args.healthcheck)
    if args.healthcheck:
        problem = heartbeat_problem(settings.heartbeat, 3 * HEARTBEAT_S)
        if problem:
            print(f"actions: unhealthy: {problem}", file=sys.stderr)
        return 1 if problem else 0
    if args.acl:
        print(acl_block(settings), end="")
        return 0
    if args.check:
        print(f"actions: {len(settings.outputs)} outputs, configuration valid")
        return 0
    setup_logging(settings.log_level)
    from actions.service import ActionsService

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    service = ActionsService(settings).start()
    log.info("driving %d outputs from %s", len(settings.outputs), settings.actions_file)
    stopped.wait()
    service.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
