"""Basic auth against WEBHOOK_USERNAME / WEBHOOK_PASSWORD and Grafana's optional HMAC signature,
both compared in constant time."""

import hashlib
import hmac

from flask import current_app, jsonify
from flask_httpauth import HTTPBasicAuth

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"

basic_auth = HTTPBasicAuth(realm="alertloop webhook")


def _same(given, expected):
    return hmac.compare_digest((given or "").encode(), expected.encode())


@basic_auth.verify_password
def verify_password(username, password):
    config = current_app.config["WEBHOOK"]
    # Both comparisons always run, so the time taken does not tell which one failed.
    user_ok = _same(username, config.username)
    password_ok = _same(password, config.password)
    if user_ok and password_ok:
        return username
    current_app.extensions["alert_publisher"].count("unauthorized")
    return None


@basic_auth.error_handler
def auth_error(status):
    return jsonify(error="unauthorized", reason="missing or wrong credentials"), status


def signature_problem(config, headers, body):
    """Why the request's HMAC signature is not valid, or None when it is (or none is needed).

    Grafana sends the hex HMAC-SHA256 of the body, or of `<timestamp>:<body>` when a timestamp
    header is configured on its contact point.
    """
    if not config.hmac_secret:
        return None
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        return f"missing {SIGNATURE_HEADER} header"
    message = body
    if config.hmac_timestamp_header:
        timestamp = headers.get(config.hmac_timestamp_header)
        if not timestamp:
            return f"missing {config.hmac_timestamp_header} header"
        message = timestamp.encode() + b":" + body
    expected = hmac.new(config.hmac_secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None


def sign(secret, body, timestamp=None):
    """The signature Grafana would send (for tests, the benchmark and curl examples)."""
    message = body if timestamp is None else f"{timestamp}:".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
