"""The read API for other systems (docs/console.md, "API"): JSON, GET only, with a bearer token
(or a console login). Bounded: a range of at most `api_max_range_s`, at most `api_max_points`
points (downsampled by mean/min/max per bucket), at most `api_max_entries` journal entries;
a bad range is a 400 naming the problem."""

import math
import time
from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request, session

from console.history import HistoryError
from service_common.readings import name_problem

api = Blueprint("api", __name__, url_prefix="/api")
DEFAULT_RANGE_S = 3600
DEFAULT_POINTS = 500


class BadRequest(ValueError):
    pass


def parse_instant(text, name):
    """Epoch milliseconds from epoch ms digits or RFC 3339 (with a zone)."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        value = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(f"{name}={text[:40]!r} is neither epoch milliseconds nor RFC 3339 "
                             "(2026-01-02T03:04:05Z)") from None
        if moment.tzinfo is None:
            raise BadRequest(f"{name}={text[:40]!r} needs a time zone (Z or +hh:mm)")
        value = int(moment.timestamp() * 1000)
    if not 946_684_800_000 <= value <= 9_223_372_036_853:
        raise BadRequest(f"{name}={text[:40]!r} is outside 2000-01-01 .. 2262")
    return value


def time_range(args, max_range_s, now_ms):
    end = parse_instant(args["to"], "to") if args.get("to") else now_ms
    start = (parse_instant(args["from"], "from") if args.get("from")
             else end - DEFAULT_RANGE_S * 1000)
    if start >= end:
        raise BadRequest("from must be before to")
    if end - start > max_range_s * 1000:
        raise BadRequest(f"the range is longer than {max_range_s:g} s (CONSOLE_API_MAX_RANGE_S)")
    return start, end


def _int(args, name, default, low, high):
    text = args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadRequest(f"{name}={text[:20]!r} must be an integer from {low} to {high}")
    return int(text)


def _state():
    return current_app.extensions["console"]


@api.before_request
def authenticate():
    state = _state()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        address = request.remote_addr or "?"
        if state["api_throttle"].retry_after(f"addr:{address}"):
            state["counters"].add("refused_api_throttled")
            return _error(429, "too many bad tokens from this address: wait a minute")
        name = state["tokens"].check(header[7:].strip())
        if name is None:
            state["api_throttle"].failed(f"addr:{address}")
            state["counters"].add("refused_api_token")
            return _error(401, "unknown or revoked token")
        g.api_user = f"token:{name}"
        return None
    if session.get("user") and state["users"].role(session["user"]):
        g.api_user = session["user"]
        return None
    state["counters"].add("refused_api_token")
    return _error(401, "send Authorization: Bearer <token> (make token NAME=...)")


def _error(status, message):
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="alertloop console"'
    return response


@api.errorhandler(BadRequest)
def bad_request(error):
    _state()["counters"].add("refused_api_bad_request")
    return _error(400, str(error))


@api.errorhandler(HistoryError)
def history_down(error):
    return _error(503, str(error))


def _alarm(alarm):
    return {"id": alarm.ident, "alert": alarm.alert, "device": alarm.device,
            "state": alarm.state, "active": alarm.active, "since": alarm.since,
            "fired_at": alarm.fired_at, "value": alarm.value, "threshold": alarm.threshold,
            "summary": alarm.summary, "acked_by": alarm.acked_by, "shelved": alarm.shelved}


@api.get("/alarms")
def alarms():
    return jsonify({"alarms": [_alarm(a) for a in _state()["board"].alarms()]})


@api.get("/outputs")
def outputs():
    return jsonify({"outputs": [{
        "id": o.id, "kind": o.kind, "mode": o.mode, "commanded": o.commanded,
        "reported": o.reported, "confirmed": o.confirmed, "optimistic": o.optimistic,
        "mismatch": o.mismatch, "available": o.available, "since": o.since,
        "override": o.override} for o in _state()["outputs"].outputs()]})


def _history():
    history = _state()["history"]
    if history is None:
        raise HistoryError("no InfluxDB configured")
    return history


@api.get("/readings")
def readings():
    config = current_app.config["CONSOLE"]
    args = request.args
    device, measurement = args.get("device", ""), args.get("measurement", "")
    for name, value in (("device", device), ("measurement", measurement)):
        problem = name_problem(value) if value else "is required"
        if problem:
            raise BadRequest(f"{name} {problem}")
    start, end = time_range(args, config.api_max_range_s, time.time_ns() // 1_000_000)
    points = _int(args, "points", min(DEFAULT_POINTS, config.api_max_points), 1,
                  config.api_max_points)
    bucket_s = max(1, math.ceil((end - start) / 1000 / points))
    rows = _history().series(device, measurement, start, end, bucket_s)[:points]
    return jsonify({"device": device, "measurement": measurement, "from": start, "to": end,
                    "bucket_s": bucket_s,
                    "points": [{"t": t, "mean": m, "min": lo, "max": hi}
                               for t, m, lo, hi in rows]})


@api.get("/journal")
def journal():
    config = current_app.config["CONSOLE"]
    start, end = time_range(request.args, config.api_max_range_s, time.time_ns() // 1_000_000)
    limit = _int(request.args, "limit", config.api_max_entries, 1, config.api_max_entries)
    return jsonify({"from": start, "to": end, "entries": _history().alarm_journal(start, end,
                                                                                  limit)})


@api.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


_RANGE = [{"name": "from", "in": "query", "schema": {"type": "string"},
           "description": "epoch ms or RFC 3339; default: `to` minus one hour"},
          {"name": "to", "in": "query", "schema": {"type": "string"},
           "description": "epoch ms or RFC 3339; default: now"}]
_JSON = {"application/json": {"schema": {"type": "object"}}}
_ANSWERS = {"200": {"description": "OK", "content": _JSON},
            "400": {"description": "a bad parameter or range: {error}", "content": _JSON},
            "401": {"description": "no or a wrong token", "content": _JSON}}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "alertloop console read API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/alarms": {"get": {"summary": "current alarm instances and their states",
                                "responses": _ANSWERS}},
        "/api/outputs": {"get": {"summary": "the actions service's outputs",
                                 "responses": _ANSWERS}},
        "/api/journal": {"get": {"summary": "the alarm journal, newest first",
                                 "parameters": [*_RANGE, {"name": "limit", "in": "query",
                                                          "schema": {"type": "integer"}}],
                                 "responses": {**_ANSWERS, "503": {
                                     "description": "InfluxDB unreachable"}}}},
        "/api/readings": {"get": {
            "summary": "one series over a range, downsampled to at most `points` buckets "
                       "(mean, min, max each)",
            "parameters": [{"name": "device", "in": "query", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "measurement", "in": "query", "required": True,
                            "schema": {"type": "string"}}, *_RANGE,
                           {"name": "points", "in": "query", "schema": {"type": "integer"}}],
            "responses": {**_ANSWERS, "503": {"description": "InfluxDB unreachable"}}}},
    },
}
