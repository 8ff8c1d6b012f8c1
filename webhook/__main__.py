"""`python -m webhook`: the webhook served by waitress, configured by the environment."""

import logging
import sys

from service_common.logs import setup_logging
from service_common.startup import serve, settings_or_exit, stop_on_sigterm
from webhook import close_app, create_app
from webhook.config import read_config
from webhook.counters import EXTENSION as COUNTERS
from webhook.http_server import create_server

log = logging.getLogger("webhook")


def main():
    config = settings_or_exit("webhook", read_config)
    setup_logging(config.log_level)
    if config.hmac_secret and not config.hmac_timestamp_header:
        log.warning("WEBHOOK_HMAC_TIMESTAMP_HEADER is empty: a captured signed request can be "
                    "replayed at any time")
    app = create_app(config)
    server = create_server(app, config, app.extensions[COUNTERS].count)
    stop_on_sigterm()
    log.info("serving on http://%s:%s/alert (MQTT %s:%s, client id %s)", config.host,
             server.effective_port, config.mqtt.host, config.mqtt.port, config.mqtt.client_id)
    try:
        serve(server)
    finally:
        close_app(app)
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
