"""`POST /ingest`: readings over HTTP for devices that cannot speak MQTT.

The body is one reading or an array of them, `{"device": "plc-1", "measurement": "temp",
"value": 21.5, "ts": <epoch ms>, "seq": 7}`, checked by the listener's own rules
(service_common.readings) and published on `<sensors root>/<device>/<measurement>` at QoS 1.
All or nothing: one bad reading and nothing of the request is published.
"""

import logging
import time
from dataclasses import dataclass, field

from flask import Blueprint, current_app, jsonify, request

from service_common import service_ids
from service_common.readings import (
    ReadingRules,
    Rejection,
    decode_json,
    encode_payload,
    name_problem,
    read_reading_rules,
    reading_fields,
    reserved_name,
)
from webhook.ingest_users import (
    IngestUser,
    IngestUsers,
    patterns_problem,
    read_users_file,
    split_patterns,
)
from webhook.publisher import BrokerUnavailable, get_publisher
from webhook.refusals import refuse

log = logging.getLogger(__name__)

bp = Blueprint("ingest", __name__)

EXTENSION = "ingest_users"
DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_MAX_READINGS = 1000
# The services, which publish their counters on <sensors root>/<client id>/...: the prefix of their
# <prefix>_CLIENT_ID and its default (service_common.service_ids, the one table of them).
# No ingest user may write these devices, whatever its patterns: it would forge their counters.
SERVICE_CLIENT_IDS = service_ids.BY_PREFIX


@dataclass(frozen=True)
class IngestSettings:
    env_user: IngestUser | None = None  # INGEST_USERNAME / INGEST_PASSWORD / INGEST_DEVICES
    users_file: str | None = None       # INGEST_USERS_FILE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_readings: int = DEFAULT_MAX_READINGS
    rules: ReadingRules = field(default_factory=ReadingRules)
    service_devices: frozenset = frozenset(SERVICE_CLIENT_IDS.values())


def read_ingest_settings(env, webhook):
    """IngestSettings from INGEST_* (and the listener's ts window); problems go to `env`."""
    username, password = env.str("INGEST_USERNAME"), env.str("INGEST_PASSWORD")
    patterns = split_patterns(env.str("INGEST_DEVICES", "*"))
    env_user = None
    if bool(username) != bool(password):
        env.problems.append("INGEST_USERNAME and INGEST_PASSWORD must be set together")
    elif username:
        env_user = IngestUser(username, patterns, password=password)
        if ":" in username:
            env.problems.append("INGEST_USERNAME must not contain ':'")
        if password == webhook.password or username == webhook.username:
            env.problems.append("INGEST_USERNAME/INGEST_PASSWORD must differ from Grafana's "
                                "WEBHOOK_USERNAME/WEBHOOK_PASSWORD")
    problem = patterns_problem(patterns)
    if problem:
        env.problems.append(f"INGEST_DEVICES {problem}")
    settings = IngestSettings(
        env_user=env_user,
        users_file=env.str("INGEST_USERS_FILE"),
        max_body_bytes=env.int("INGEST_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024,
                               webhook.max_body_bytes),
        max_readings=env.int("INGEST_MAX_READINGS", DEFAULT_MAX_READINGS, 1, 100_000),
        rules=read_reading_rules(env),
        service_devices=frozenset({*SERVICE_CLIENT_IDS.values(), webhook.mqtt.client_id,
                                   *(env.str(f"{prefix}_CLIENT_ID") or default
                                     for prefix, default in SERVICE_CLIENT_IDS.items())}),
    )
    if settings.users_file:
        try:
            users = read_users_file(settings.users_file)
        except ValueError as error:
            env.problems.append(f"INGEST_USERS_FILE: {error}")
        else:
            if env_user is not None and env_user.name in users:
                env.problems.append(f"INGEST_USERNAME={env_user.name!r} is also a user of "
                                    "INGEST_USERS_FILE: the names must differ")
    return settings


def init_app(app):
    settings = app.config["WEBHOOK"].ingest
    app.extensions[EXTENSION] = IngestUsers(settings.env_user, settings.users_file)
    app.register_blueprint(bp)


def _refuse(status, reason, counter, **extra):
    if status == 503:
        get_publisher().count(f"ingest_refused_{counter}")
    else:
        refuse(status, f"ingest_refused_{counter}")
    error = {400: "malformed JSON", 401: "unauthorized", 403: "forbidden", 404: "not found",
             413: "too large", 422: "invalid readings", 503: "broker unavailable"}[status]
    response = jsonify(error=error, reason=reason, **extra)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="alertloop ingest"'
    return response


@bp.route("/ingest", methods=["POST"])
def ingest():
    settings = current_app.config["WEBHOOK"].ingest
    users = current_app.extensions[EXTENSION]
    publisher = get_publisher()
    publisher.count("ingest_requests")
    if not users.enabled:
        return _refuse(404, "HTTP ingest is off: set INGEST_USERNAME and INGEST_PASSWORD, or "
                       "INGEST_USERS_FILE", "disabled")
    auth = request.authorization
    user = users.verify(auth.username, auth.password) \
        if auth is not None and auth.type == "basic" else None
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
                       "own client ids are nobody's)",
                       "forbidden", forbidden=forbidden)
    if errors:
        for error in errors:
            publisher.count(f"ingest_invalid_{error['kind']}")
        return _refuse(422, f"{len(errors)} of {len(readings)} readings are invalid: nothing "
                       "was published", "invalid", errors=errors)
    try:
        publisher.publish_messages(messages)
    except BrokerUnavailable as error:
        log.warning("ingest answering 503: %s", error)
        return _refuse(503, f"{error}; send the request again (readings with \"ts\" are "
                       "stored once however often they are sent)", "broker_unavailable")
    publisher.count("ingest_readings", len(messages))
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
                or not user.may_write(reading["device"]):
            forbidden.append({"index": index, "device": reading["device"]})
        else:
            topic = f"{root}/{reading['device']}/{reading['measurement']}"
            messages.append((topic, encode_payload(*fields)))
    return messages, errors, forbidden


def _reading_problem(reading):
    if not isinstance(reading, dict):
        return Rejection("wrong_shape", "a reading must be a JSON object with \"device\", "
                         "\"measurement\" and \"value\"")
    for key in ("device", "measurement"):
        problem = name_problem(reading.get(key)) if key in reading else "is missing"
        if problem:
            return Rejection("bad_name", f"\"{key}\" {problem}")
    return reserved_name(reading["measurement"])
