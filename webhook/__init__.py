"""Grafana alert notifications -> retained MQTT alert state (`python -m webhook`).

`create_app(config=None, publisher=None)` builds the Flask app; without a config it reads the
environment, without a publisher it starts one on the configured broker.
"""

import json

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException

from webhook import ack
from webhook import publisher as publisher_module
from webhook.config import read_config
from webhook.routes import bp


def create_app(config=None, publisher=None):
    config = read_config() if config is None else config
    app = Flask(__name__)
    app.config["WEBHOOK"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(bp)
    app.register_blueprint(ack.bp)
    publisher_module.init_app(app, publisher)
    return app


def _json_error(error):
    """Every HTTP error as a short JSON body: {"error": "...", "reason": "..."}."""
    reason = error.description
    if error.code == 413:
        publisher_module.get_publisher().count("too_large")
        reason = (f"request body larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes "
                  f"(WEBHOOK_MAX_BODY_BYTES)")
    response = error.get_response()  # keeps headers such as Allow
    response.set_data(json.dumps({"error": error.name.lower(), "reason": reason}))
    response.content_type = "application/json"
    return response
