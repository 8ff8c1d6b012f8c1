"""Grafana alert notifications -> retained MQTT alert state (`python -m webhook`).

`create_app(config=None, publisher=None)` builds the Flask app; without a config it reads the
environment, without a publisher it starts one on the configured broker (and the reporter that
publishes the counters); `close_app(app)` stops them.
"""

import json

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException

from webhook import ingest
from webhook import publisher as publisher_module
from webhook.config import read_config
from webhook.refusals import EXTENSION as REFUSALS
from webhook.refusals import RefusalLog, refuse
from webhook.reporter import EXTENSION as REPORTER
from webhook.reporter import Reporter
from webhook.routes import bp


def create_app(config=None, publisher=None):
    config = read_config() if config is None else config
    app = Flask(__name__)
    app.config["WEBHOOK"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(bp)
    app.extensions[REFUSALS] = RefusalLog(config.refusal_log_interval)
    if publisher is None:
        publisher = publisher_module.init_app(app)
        app.extensions[REPORTER] = Reporter(config, publisher, app.extensions[REFUSALS]).start()
    else:
        publisher_module.init_app(app, publisher)
    ingest.init_app(app)
    return app


def close_app(app):
    """Stop what create_app started: the counter reporter, then the publisher (says offline)."""
    reporter = app.extensions.get(REPORTER)
    if reporter:
        reporter.close()
    publisher_module.get_publisher_of(app).close()


def _json_error(error):
    """Every HTTP error as a short JSON body: {"error": "...", "reason": "..."}."""
    reason = error.description
    if error.code == 413:
        refuse(413, "too_large")
        reason = (f"request body larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes "
                  f"(WEBHOOK_MAX_BODY_BYTES)")
    response = error.get_response()  # keeps headers such as Allow
    response.set_data(json.dumps({"error": error.name.lower(), "reason": reason}))
    response.content_type = "application/json"
    return response
