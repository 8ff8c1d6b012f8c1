"""POST /ack/<alert>[/<device>]: acknowledge an alarm over HTTP, as a board's button does.

Basic auth with its own credentials, ACK_USERNAME / ACK_PASSWORD (an operator's, not Grafana's:
whoever may acknowledge need not be able to raise alerts). Off, answering 404, unless both are
set. The journal names the HTTP user as the one who acknowledged.
"""

from flask import Blueprint, current_app, jsonify, request

from webhook.annunciator import UnknownAlarm
from webhook.auth import credentials_match, throttled_login
from webhook.counters import count
from webhook.csrf import cross_site_problem
from webhook.publisher import BrokerUnavailable, get_publisher
from webhook.refusals import refusal
from webhook.throttle import Throttled
from webhook.topics import topic_safe

bp = Blueprint("ack", __name__)
REALM = 'Basic realm="alertloop acknowledgements"'


def _refuse(status, error, reason, counter, headers=None):
    return refusal(status, reason, f"ack_refused_{counter}", error=error,
                   headers={"WWW-Authenticate": REALM} if status == 401 else headers)


def _user(config):
    """The authenticated user, or None (compared in constant time); raises Throttled."""
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return None
    return throttled_login("ack", auth.username, auth.password, lambda: auth.username if
                           credentials_match(auth.username, auth.password, config.ack_username,
                                             config.ack_password) else None)


@bp.route("/ack/<alert>", methods=["POST"], defaults={"device": None})
@bp.route("/ack/<alert>/<device>", methods=["POST"])
def ack(alert, device):
    config = current_app.config["WEBHOOK"]
    publisher = get_publisher()
    count("ack_requests")
    if not config.ack_username:
        return _refuse(404, "not found", "acknowledging over HTTP is off: set ACK_USERNAME "
                       "and ACK_PASSWORD", "disabled")
    cross_site = cross_site_problem(body_required=False)
    if cross_site:
        status, reason, counter = cross_site
        return _refuse(status, None, reason, counter)
    try:
        user = _user(config)
    except Throttled as error:
        return _refuse(429, "too many requests", error.description, "throttled",
                       {"Retry-After": str(error.retry_after)})
    if user is None:
        return _refuse(401, "unauthorized", "missing or wrong credentials", "unauthorized")
    alert = topic_safe(alert)  # `Pot high` or `pot-high`
    try:
        transitions = publisher.acknowledge(alert, device, by=user)
    except UnknownAlarm as error:
        return _refuse(404, "not found", str(error), "unknown")
    except BrokerUnavailable as error:
        return _refuse(503, "broker unavailable", str(error), "broker_unavailable")
    count("acks")
    return jsonify(
        status="ok",
        alert=alert,
        device=device,
        by=user,
        state=publisher.store.annunciator.state(alert, device),
        transitions=[{"device": t.device, "from": t.from_state, "to": t.to_state}
                     for t in transitions],
    )
