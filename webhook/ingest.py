"""`POST /ingest`: readings over HTTP for devices that cannot speak MQTT.

The body is one reading or an array of them, `{"device": "plc-1", "measurement": "temp",
"value": 21.5, "ts": <epoch ms>, "seq": 7}`, checked by the listener's own rules
(service_common.readings) and published on `<sensors root>/<device>/<measurement>` at QoS 1.
All or nothing: one bad reading and nothing of the request is published.
"""

import logging
import time

from flask import Blueprint, current_app, jsonify, request

from service_common.readings import (
    Rejection,
    decode_json,
    encode_payload,
    name_problem,
    reading_fields,
    reserved_name,
)
from webhook.auth import throttled_login
from webhook.counters import count
from webhook.csrf import cross_site_problem
from webhook.ingest_devices import is_reserved, look_problem
from webhook.ingest_outbox import OutboxFull
from webhook.publisher import BrokerUnavailable, get_publisher
from webhook.refusals import refusal
from webhook.throttle import Throttled

log = logging.getLogger(__name__)

bp = Blueprint("ingest", __name__)

EXTENSION = "ingest_users"
DEVICES = "ingest_devices"  # the DeviceCap of webhook/ingest_devices.py
OUTBOX = "ingest_outbox"  # the Outbox of webhook/ingest_outbox.py
STAMPER = "ingest_stamper"  # its Stamper
REALM = 'Basic realm="alertloop ingest"'
_ERRORS = {400: "malformed JSON", 413: "too large", 415: "not JSON", 422: "invalid readings",
           503: "broker unavailable"}


def _refuse(status, reason, counter, headers=None, **extra):
    return refusal(status, reason, f"ingest_refused_{counter}", error=_ERRORS.get(status),
                   headers={"WWW-Authenticate": REALM} if status == 401 else headers, **extra)


@bp.route("/ingest", methods=["POST"])
def ingest():
    settings = current_app.config["WEBHOOK"].ingest
    users = current_app.extensions[EXTENSION]
    count("ingest_requests")
    if not users.enabled:
        return _refuse(404, "HTTP ingest is off: set INGEST_USERNAME and INGEST_PASSWORD, or "
                       "INGEST_USERS_FILE", "disabled")
    cross_site = cross_site_problem(body_required=True)
    if cross_site:
        return _refuse(*cross_site)
    auth = request.authorization
    try:
        user = throttled_login("ingest", auth.username, auth.password,
                               lambda: users.verify(auth.username, auth.password)) \
            if auth is not None and auth.type == "basic" else None
    except Throttled as error:
        return _refuse(429, error.description, "throttled",
                       {"Retry-After": str(error.retry_after)})
    if user is None:
        return _refuse(401, "missing or wrong credentials", "unauthorized")
    if (request.content_length or 0) > settings.max_body_bytes:
        return _too_large(settings)
    body = request.get_data(cache=False)  # 413 from Flask above WEBHOOK_MAX_BODY_BYTES
    if len(body) > settings.max_body_bytes:
        return _too_large(settings)
    try:
        document = decode_json(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        document = Rejection("not_utf8", str(error))
    if type(document) is Rejection:  # NaN and Infinity are no JSON either
        return _refuse(400, document.detail, "malformed_json")
    readings = document if isinstance(document, list) else [document]
    if len(readings) > settings.max_readings:
        return _refuse(413, f"{len(readings)} readings in one request, more than "
                       f"{settings.max_readings} (INGEST_MAX_READINGS)", "too_many_readings")
    if not readings:
        return _refuse(422, "an empty array holds no reading", "invalid", errors=[])
    messages, errors, forbidden = _check(readings, user, settings)
    if forbidden:
        return _refuse(403, f"user {user.name!r} may not write these devices (the services' "
                       "own client ids, INGEST_RESERVED_DEVICES and look-alikes are nobody's)",
                       "forbidden", forbidden=forbidden)
    if errors:
        for error in errors:
            count(f"ingest_invalid_{error['kind']}")
        return _refuse(422, f"{len(errors)} of {len(readings)} readings are invalid: nothing "
                       "was published", "invalid", errors=errors)
    devices = {reading["device"] for reading in readings}
    cap = current_app.extensions[DEVICES]
    over = cap.over(user.name, devices)
    if over:
        return _refuse(403, f"user {user.name!r} may write at most {cap.limit} devices "
                       "(INGEST_MAX_DEVICES_PER_USER): nothing was published", "too_many_devices",
                       new_devices=over[:20])
    try:
        current_app.extensions[OUTBOX].append(messages)  # durable before the 202
    except (OutboxFull, OSError) as error:
        log.error("ingest answering 503: %s", error)
        return _refuse(503, f"{error}; send the request again later", "outbox_unavailable")
    try:
        get_publisher().publish_messages(messages)
    except BrokerUnavailable as error:
        log.warning("ingest answering 503: %s", error)
        return _refuse(503, f"{error}; send the request again (readings with \"ts\" are "
                       "stored once however often they are sent)", "broker_unavailable")
    cap.record(user.name, devices)
    count("ingest_readings", len(messages))
    return jsonify(status="accepted", readings=len(messages)), 202


def _too_large(settings):
    return _refuse(413, f"request body larger than {settings.max_body_bytes} bytes "
                   "(INGEST_MAX_BODY_BYTES)", "too_large")


def _check(readings, user, settings):
    """(messages to publish, [{index, kind, error}], [{index, device}] the user may not write)."""
    root = current_app.config["WEBHOOK"].mqtt.sensors_root
    now_ms = time.time_ns() // 1_000_000
    messages, errors, forbidden = [], [], []
    for index, reading in enumerate(readings):
        problem = _reading_problem(reading)
        if problem is None:
            fields = reading_fields(reading, settings.rules, now_ms)
            if type(fields) is Rejection:
                problem = fields
        if problem is not None:
            errors.append({"index": index, "kind": problem.kind, "error": problem.detail})
        elif reading["device"] in settings.service_devices \
                or not user.may_write(reading["device"]) \
                or is_reserved(reading["device"], settings.reserved_names,
                               settings.reserved_patterns):
            forbidden.append({"index": index, "device": reading["device"]})
        else:
            topic = f"{root}/{reading['device']}/{reading['measurement']}"
            value, ts, seq = fields
            if ts is None:  # stamped now, so that the outbox's replay stores it once
                ts = current_app.extensions[STAMPER].stamp(topic, now_ms)
            messages.append((topic, encode_payload(value, ts, seq)))
    return messages, errors, forbidden


def _reading_problem(reading):
    if not isinstance(reading, dict):
        return Rejection("wrong_shape", "a reading must be a JSON object with \"device\", "
                         "\"measurement\" and \"value\"")
    for key in ("device", "measurement"):
        problem = name_problem(reading.get(key)) if key in reading else "is missing"
        if problem is None and key == "device":
            problem = look_problem(reading["device"])
        if problem:
            return Rejection("bad_name", f"\"{key}\" {problem}")
    return reserved_name(reading["measurement"])
