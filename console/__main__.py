"""`python -m console`: the operator console served by waitress on loopback (Caddy in front),
configured by the environment (docs/console.md)."""

import logging
import sys

import waitress

from console.alarms import AlarmBoard
from console.app import create_app
from console.changes import Changes
from console.config import read_config
from console.counters import Counters
from console.history import History
from console.link import Link
from console.outputs import OutputBoard
from console.values import ValueBoard
from service_common.logs import setup_logging
from service_common.startup import serve, settings_or_exit, stop_on_sigterm

log = logging.getLogger("console")


def main():
    config = settings_or_exit("console", read_config)
    setup_logging(config.log_level)
    board, counters, outputs = AlarmBoard(config.mqtt.alerts_root), Counters(), OutputBoard()
    values = ValueBoard(Changes(), config.mqtt.sensors_root, config.mqtt.status_root)
    link = Link(config.mqtt, board, outputs, values, counters)
    app = create_app(config, link=link, board=board, counters=counters, outputs=outputs,
                     values=values, history=History(config.influx))
    server = waitress.create_server(
        app, host=config.host, port=config.port, ident="alertloop-console",
        threads=config.threads, clear_untrusted_proxy_headers=True,
        # Caddy on loopback is the one proxy: its X-Forwarded-For gives the client's address,
        # which the login throttle counts.
        trusted_proxy="127.0.0.1", trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"})
    stop_on_sigterm()
    link.start()
    log.info("serving on http://%s:%s/ (MQTT %s:%s, client id %s)", config.host,
             server.effective_port, config.mqtt.host, config.mqtt.port, config.mqtt.client_id)
    try:
        serve(server)
    finally:
        link.close()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
