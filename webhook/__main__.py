"""`python -m webhook`: the webhook served by waitress, configured by the environment."""

import logging
import signal
import sys

from service_common.config import ConfigError
from service_common.logs import setup_logging
from webhook import close_app, create_app
from webhook.config import read_config
from webhook.counters import EXTENSION as COUNTERS
from webhook.http_server import create_server

log = logging.getLogger("webhook")


def _stop(signum, frame):
    raise SystemExit(0)


def main():
    try:
        config = read_config()
    except ConfigError as error:
        print(f"webhook: {error}", file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    if config.hmac_secret and not config.hmac_timestamp_header:
        log.warning("WEBHOOK_HMAC_TIMESTAMP_HEADER is empty: a captured signed request can be "
                    "replayed at any time")
    app = create_app(config)
    server = create_server(app, config, app.extensions[COUNTERS].count)
    signal.signal(signal.SIGTERM, _stop)
    log.info("serving on http://%s:%s/alert (MQTT %s:%s, client id %s)", config.host,
             server.effective_port, config.mqtt.host, config.mqtt.port, config.mqtt.client_id)
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
        close_app(app)
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
