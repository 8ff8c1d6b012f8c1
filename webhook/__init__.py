"""Grafana alert notifications -> retained MQTT alert state (`python -m webhook`).

`create_app(config=None, publisher=None)` builds the Flask app, as the Flask tutorial's factory
does: it keeps the counters, the refusal log and the ingest users in `app.extensions` and
registers every blueprint. Without a config it reads the environment; without a publisher it
starts one on the configured broker (and the reporter that publishes the counters);
`close_app(app)` stops them.
"""

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException


def create_app(config=None, publisher=None):
    from webhook import ack, ingest, routes
    from webhook import publisher as publisher_module
    from webhook.config import read_config
    from webhook.counters import EXTENSION as COUNTERS
    from webhook.counters import Counters
    from webhook.ingest_devices import DeviceCap
    from webhook.ingest_outbox import Outbox, Stamper
    from webhook.ingest_users import IngestUsers
    from webhook.refusals import EXTENSION as REFUSALS
    from webhook.refusals import RefusalLog
    from webhook.reporter import EXTENSION as REPORTER
    from webhook.reporter import Reporter
    from webhook.throttle import EXTENSION as THROTTLE
    from webhook.throttle import LoginThrottle

    config = read_config() if config is None else config
    app = Flask(__name__)
    app.config["WEBHOOK"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.register_error_handler(HTTPException, _json_error)
    app.extensions[COUNTERS] = Counters() if publisher is None else publisher.counters
    app.extensions[REFUSALS] = RefusalLog(config.refusal_log_interval)
    app.extensions[THROTTLE] = LoginThrottle()
    app.extensions[ingest.EXTENSION] = IngestUsers(config.ingest.env_user,
                                                   config.ingest.users_file)
    app.extensions[ingest.DEVICES] = DeviceCap(config.ingest.max_devices_per_user)
    app.extensions[ingest.STAMPER] = Stamper()
    if config.ingest.enabled:
        app.extensions[ingest.OUTBOX] = Outbox(config.ingest.outbox_dir,
                                               config.ingest.outbox_window,
                                               config.ingest.outbox_max_bytes)
    app.register_blueprint(routes.bp)
    app.register_blueprint(ack.bp)
    app.register_blueprint(ingest.bp)
    if publisher is None:
        publisher = publisher_module.AlertPublisher(config, counters=app.extensions[COUNTERS])
        publisher_module.init_app(app, publisher)
        publisher.start()
        app.extensions[REPORTER] = Reporter(config, publisher, app.extensions[REFUSALS]).start()
    else:
        publisher_module.init_app(app, publisher)
    if ingest.OUTBOX in app.extensions:  # what was answered 202 before a restart, again
        app.extensions[ingest.OUTBOX].start_replay(publisher.publish_messages,
                                                   app.extensions[COUNTERS].count)
    return app


def close_app(app):
    """Stop what create_app started: the counter reporter, then the publisher (says offline)."""
    from webhook.publisher import get_publisher_of
    from webhook.reporter import EXTENSION as REPORTER

    reporter = app.extensions.get(REPORTER)
    if reporter:
        reporter.close()
    outbox = app.extensions.get("ingest_outbox")
    if outbox:
        outbox.close()
    get_publisher_of(app).close()


def _json_error(error):
    """Every HTTP error as a short JSON body: {"error": "...", "reason": "..."}."""
    from webhook.refusals import refusal

    # A stray URL or method is not counted; a throttled login is.
    reason, counter = error.description, getattr(error, "counter", None)
    if error.code == 413:
        counter = "too_large"
        reason = (f"request body larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes "
                  f"(WEBHOOK_MAX_BODY_BYTES)")
    response = error.get_response()  # keeps headers such as Allow
    answer = refusal(error.code, reason, counter, error=error.name.lower())
    response.set_data(answer.get_data())
    response.content_type = "application/json"
    return response
