"""`python -m webhook`: the webhook served by waitress, configured by the environment."""

import logging
import signal
import sys

import waitress

from service_common.config import ConfigError
from service_common.logs import setup_logging
from webhook import close_app, create_app
from webhook.config import read_config

log = logging.getLogger("webhook")

# Waitress buffers a whole request body before Flask sees it. Up to this multiple of
# WEBHOOK_MAX_BODY_BYTES Flask answers the JSON 413; beyond it waitress cuts the request short.
WAITRESS_BODY_FACTOR = 4


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
    server = waitress.create_server(
        app, host=config.host, port=config.port, ident="alertloop-webhook",
        max_request_body_size=config.max_body_bytes * WAITRESS_BODY_FACTOR,
        clear_untrusted_proxy_headers=True,
        # Idle and slow clients cannot hold every connection: many more connections than Grafana
        # needs, each closed after channel_timeout s without a byte, checked that often.
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout,
        cleanup_interval=max(1, config.channel_timeout // 2),
    )
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
