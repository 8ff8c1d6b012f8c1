"""POST /alert (Grafana's contact point) and GET /healthz."""

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from webhook.auth import basic_auth, signature_problem
from webhook.counters import count
from webhook.notification import NotANotification, parse
from webhook.publisher import BrokerUnavailable, get_publisher
from webhook.refusals import refusal

log = logging.getLogger(__name__)

bp = Blueprint("alerts", __name__)


def _error(status, error, reason, counter):
    return refusal(status, reason, counter, error=error)


@bp.route("/alert", methods=["POST", "PUT"])
@basic_auth.login_required
def alert():
    config = current_app.config["WEBHOOK"]
    publisher = get_publisher()
    count("requests")
    body = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH
    problem = signature_problem(config, request.headers, body)
    if problem:
        return _error(401, "unauthorized", problem, "bad_signature")
    try:
        payload = json.loads(body)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an int over 4300 digits
        return _error(400, "malformed JSON", str(error), "malformed_json")
    except RecursionError:
        return _error(400, "malformed JSON", "nested too deeply", "malformed_json")
    try:
        notification = parse(payload)
    except NotANotification as error:
        return _error(422, "not an alert notification", str(error), "not_a_notification")
    _log_skipped(notification)
    try:
        published = publisher.apply(notification)
    except BrokerUnavailable as error:
        # Not the client's fault, so not a refusal: Grafana sends it again.
        log.warning("answering 503: %s", error)
        return refusal(503, str(error), "broker_unavailable", error="broker unavailable")
    count("notifications")
    return jsonify(
        status="ok",
        format=notification.format,
        published={topic: value for topic, value in published.items()},
        ignored=[s.as_dict() for s in notification.ignored],
        rejected=[s.as_dict() for s in notification.rejected],
        warnings=notification.warnings,
    )


def _log_skipped(notification):
    for skipped in notification.ignored:
        count("ignored_alerts")
        log.info("acknowledged without state change: alertname=%r: %s",
                 skipped.alertname, skipped.reason)
    for skipped in notification.rejected:
        count("rejected_alerts")
        log.warning("rejected alert: %s", skipped.reason)
    for warning in notification.warnings:
        count("warnings")
        log.warning("%s", warning)


@bp.route("/healthz", methods=["GET"])
def healthz():
    publisher = get_publisher()
    body = {
        "mqtt_connected": publisher.connected,
        "state_restored": publisher.restored,
        "counts": publisher.counts_snapshot(),
    }
    return jsonify(status="ok" if publisher.ready else "unavailable", **body), \
        200 if publisher.ready else 503
