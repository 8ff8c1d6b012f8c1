"""Basic auth against WEBHOOK_USERNAME / WEBHOOK_PASSWORD and Grafana's optional HMAC signature,
both compared in constant time."""

import hashlib
import hmac
import re
import time

from flask import current_app, request
from flask_httpauth import HTTPBasicAuth

from webhook.refusals import refusal
from webhook.throttle import EXTENSION as THROTTLE

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
# What Grafana puts in the timestamp header: Unix seconds, ASCII digits only.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)

basic_auth = HTTPBasicAuth(realm="alertloop webhook")


def _same(given, expected):
    return hmac.compare_digest((given or "").encode(), expected.encode())


def credentials_match(username, password, expected_username, expected_password):
    """Both comparisons always run, so the time taken does not tell which one failed."""
    user_ok = _same(username, expected_username)
    password_ok = _same(password, expected_password)
    return user_ok and password_ok


def throttled_login(realm, username, password, verify):
    """`verify()` -> the user or None, behind the login throttle (webhook/throttle.py): raises
    Throttled (429) when this address or user has guessed too often.
    A request without credentials guesses nothing: it is answered 401 and not throttled."""
    if not username and not password:
        return None
    return current_app.extensions[THROTTLE].login(request.remote_addr or "unknown", realm,
                                                  username, verify)


@basic_auth.verify_password
def verify_password(username, password):
    config = current_app.config["WEBHOOK"]
    return throttled_login("alert", username, password, lambda: username if credentials_match(
        username, password, config.username, config.password) else None)


@basic_auth.error_handler
def auth_error(status):
    return refusal(status, "missing or wrong credentials", "unauthorized")


def signature_problem(config, headers, body, now=None):
    """Why the request's HMAC signature is not valid, or None when it is (or none is needed).

    Grafana sends the hex HMAC-SHA256 of the body, or of `<timestamp>:<body>` when a timestamp
    header is configured on its contact point; the timestamp must then be Unix seconds within
    WEBHOOK_HMAC_MAX_SKEW of `now`, so a captured request cannot be replayed later.
    """
    if not config.hmac_secret:
        return None
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        return f"missing {SIGNATURE_HEADER} header"
    timestamp = None
    if config.hmac_timestamp_header:
        timestamp = headers.get(config.hmac_timestamp_header)
        if not timestamp:
            return f"missing {config.hmac_timestamp_header} header"
    expected = sign(config.hmac_secret, body, timestamp)
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        return f"{SIGNATURE_HEADER} does not match the body"
    if config.hmac_timestamp_header:
        return _timestamp_problem(config, timestamp, time.time() if now is None else now)
    return None


def _timestamp_problem(config, timestamp, now):
    name = config.hmac_timestamp_header
    if not _UNIX_SECONDS.fullmatch(timestamp):
        return f"{name} is not a Unix time in seconds"
    skew = int(timestamp) - now
    if abs(skew) > config.hmac_max_skew:
        return (f"{name} is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the "
                f"webhook's clock (at most {config.hmac_max_skew:g} s, WEBHOOK_HMAC_MAX_SKEW)")
    return None


def sign(secret, body, timestamp=None):
    """The hex HMAC-SHA256 Grafana sends: of the body, or of `<timestamp>:<body>`."""
    message = body if timestamp is None else f"{timestamp}:".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
