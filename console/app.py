"""The console's Flask app: login, the alarm summary with its live stream, acknowledgement and
shelving. `create_app(config, link=..., board=...)`: no socket is opened here."""

import logging
import math
import time
from datetime import UTC, datetime, timedelta

from flask import (
    Flask,
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)

from console import api as api_module
from console import performance, security, tagmap
from console.alarms import OUT_OF_SERVICE, SHELVED, AlarmBoard
from console.api import api
from console.changes import Changes
from console.counters import Counters
from console.history import SPARK_WINDOW_S, HistoryError, polyline
from console.link import NotSent
from console.outputs import SETTABLE, OutputBoard
from console.security import Refused
from console.throttle import Throttle
from console.tokens import Tokens
from console.users import Users, name_problem
from console.values import ValueBoard

log = logging.getLogger("console")
# Endpoints anyone may reach; every other one needs a session.
PUBLIC = {"login", "static", "healthz"}
KEEPALIVE_S = 15.0
RENDER_INTERVAL_S = 0.1
VALUES_INTERVAL_S = 1.0  # readings flow all the time: a page shows them once a second
STALE_MS = 5 * 60_000
PERFORMANCE_MAX_ENTRIES = 100_000
MAX_OVERRIDE_MIN = 7 * 24 * 60
MAX_REASON = 200
SHELVE_ACTIONS = {"shelve": "shelved", "out-of-service": "taken out of service",
                  "unshelve": "unshelved", "in-service": "returned to service"}


def _when(ms):
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(ms, now_ms):
    if ms is None:
        return ""
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _number(value):
    return "" if value is None else f"{value:.6g}"


def read_mode_request(form):
    """(mode, value, minutes or None, reason) of a Hand/Off/Auto form, or what is wrong."""
    mode = form.get("mode", "")
    if mode not in SETTABLE:
        return f"the mode must be one of {', '.join(SETTABLE)}, not {mode[:20]!r}"
    value = None
    if mode == "hand":
        text = form.get("value", "on").strip() or "on"
        if text in ("on", "off"):
            value = text
        else:
            try:
                value = float(text)
            except ValueError:
                return f"a hand value is on, off or a number, not {text[:20]!r}"
            if not math.isfinite(value):
                return "a hand value must be finite"
    minutes_text = form.get("minutes", "").strip()
    minutes = None
    if minutes_text:
        try:
            minutes = float(minutes_text)
        except ValueError:
            minutes = -1
        if not 1 <= minutes <= MAX_OVERRIDE_MIN:
            return f"the expiry is 1 to {MAX_OVERRIDE_MIN} minutes, or empty for none"
    reason = form.get("reason", "").strip()
    if mode != "auto" and not reason:
        return "give a reason: it is journaled and shown to the next shift"
    if len(reason) > MAX_REASON:
        return f"the reason is longer than {MAX_REASON} characters"
    return mode, value, minutes, reason


def describe_mode(mode, value, until_ms):
    words = {"auto": "back to auto", "off": "off (hand)",
             "hand": f"hand {value if isinstance(value, str) else _number(value)}"}[mode]
    return words + (f" until {_when(until_ms)}" if until_ms else "")


def create_app(config, link=None, board=None, counters=None, users=None, outputs=None,
               values=None, history=None, clock=time.time):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.session_max_s),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    board = board if board is not None else AlarmBoard(config.mqtt.alerts_root)
    counters = counters if counters is not None else Counters()
    users = users if users is not None else Users(config.users_file)
    outputs = outputs if outputs is not None else OutputBoard()
    values = values if values is not None else ValueBoard(Changes())
    throttle = Throttle(config.login_tries_per_minute)
    app.config["CONSOLE"] = config
    app.extensions["console"] = {"board": board, "counters": counters, "link": link,
                                 "users": users, "outputs": outputs, "values": values,
                                 "history": history, "tokens": Tokens(config.tokens_file),
                                 "api_throttle": Throttle(config.login_tries_per_minute)}
    app.register_blueprint(api)
    app.jinja_env.globals.update(csrf_token=security.csrf_token, when=_when, ago=_ago,
                                 number=_number)

    def journal(kind, subject, text="", by=None):
        if link is not None:
            link.journal(kind, subject, text, by)

    def refuse(error):
        counters.add(error.kind)
        journal("refused", error.kind.removeprefix("refused_"),
                f"{request.method} {request.path}: {error.message}", by=error.user)
        if error.status == 401:
            flash(error.message)
            if request.method == "GET" and not request.path.startswith("/events/"):
                return redirect(url_for("login", next=request.path))
            if request.path.startswith("/events/"):
                return Response(error.message, 401, mimetype="text/plain")
            return render_template("refused.html", message=error.message), 401
        return render_template("refused.html", message=error.message), error.status

    app.register_error_handler(Refused, refuse)

    @app.before_request
    def guard():
        if request.path.startswith("/api/"):
            return  # read only, with its own bearer tokens (console/api.py)
        if request.endpoint not in PUBLIC:
            # The live stream neither extends an idle session nor rewrites the cookie.
            g.user, g.role = security.current_user(
                config, users, now=clock(), touch=not request.path.startswith("/events/"))
        if request.method not in ("GET", "HEAD"):
            security.check_csrf()

    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz")
    def healthz():
        """200 while the console is connected to the broker, else 503 (compose's healthcheck)."""
        connected = link is None or link.connected()
        return jsonify({"broker": connected}), 200 if connected else 503

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return render_template("login.html", next=request.args.get("next", ""))
        name = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        address = request.remote_addr or "?"
        keys = (f"user:{name.lower()}", f"addr:{address}")
        wait = throttle.retry_after(*keys)
        shown = name if not name_problem(name) else None
        if wait:
            counters.add("refused_login_throttled")
            journal("login_refused", "login", f"too many tries from {address}", by=shown)
            flash(f"Too many tries: wait {int(wait) + 1} s before the next one.")
            return render_template("login.html"), 429
        role = users.check(name, password)
        if role is None:
            throttle.failed(*keys)
            counters.add("refused_login")
            journal("login_refused", "login", f"wrong user name or password from {address}",
                    by=shown)
            flash("Wrong user name or password.")
            return render_template("login.html"), 401
        throttle.succeeded(keys[0])
        security.start_session(name, role)
        journal("login", "login", f"{role} from {address}", by=name)
        target = request.form.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("alarms")
        return redirect(target)

    @app.post("/logout")
    def logout():
        journal("logout", "login", "", by=g.user)
        session.clear()
        flash("Logged out.")
        return redirect(url_for("login"))

    def alarm_context():
        version = board.version  # before reading: a change meanwhile is sent again
        listed = board.alarms()
        now_ms = time.time_ns() // 1_000_000
        return {"active": [a for a in listed if not a.suppressed],
                "suppressed": [a for a in listed if a.suppressed],
                "now_ms": now_ms, "can_operate": g.role in ("operator", "engineer"),
                "connected": link is None or link.connected(),
                "shelve_max_min": int(config.shelve_max_s // 60), "version": version}

    @app.get("/")
    def alarms():
        return render_template("alarms.html", **alarm_context())

    def live(template, context, changes, interval=RENDER_INTERVAL_S):
        """A server-sent event stream of `template` rendered again whenever `changes` moves (at
        most once per `interval` s); it ends when the login does, and the page then shows the
        login."""
        expires = session.get("login_at", 0) + config.session_max_s
        # The page was rendered at version `since`: nothing to send until it moves.
        since = request.args.get("since", type=int)

        def stream():
            seen = since
            yield "retry: 1000\n\n"
            while time.time() < expires:
                tick = changes.version
                if tick != seen:
                    seen = tick
                    html = render_template(template, **context())
                    yield "event: update\n" + "".join(f"data: {line}\n" for line in
                                                      html.splitlines()) + "\n"
                    time.sleep(interval)  # a burst of changes makes one render, not many
                if changes.wait(tick, KEEPALIVE_S) == tick:
                    yield ": keepalive\n\n"

        return Response(stream_with_context(stream()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/events/alarms")
    def alarm_events():
        return live("alarm_tables.html", alarm_context, board.changes)

    def output_context():
        version = outputs.version  # before reading: a change meanwhile is sent again
        return {"outputs": outputs.outputs(), "now_ms": time.time_ns() // 1_000_000,
                "version": version,
                "can_operate": g.role in ("operator", "engineer"),
                "connected": link is None or link.connected()}

    @app.get("/outputs")
    def outputs_page():
        return render_template("outputs.html", **output_context())

    @app.get("/events/outputs")
    def output_events():
        return live("output_table.html", output_context, outputs.changes)

    def value_context():
        version = values.version  # before reading: a change meanwhile is sent again
        now_ms = time.time_ns() // 1_000_000
        lines = history.sparklines() if history is not None else {}
        rows = []
        for series in values.series():
            status = values.status(series.device)
            points = lines.get((series.device, series.measurement), [])
            rows.append({"series": series, "status": status,
                         "stale": now_ms - series.at_ms > STALE_MS,
                         "spark": polyline(points, 120, 28,
                                           x_range=(now_ms - SPARK_WINDOW_S * 1000, now_ms))})
        return {"rows": rows, "now_ms": now_ms, "loops": values.loops(), "version": version,
                "connected": link is None or link.connected(), "history": history is not None}

    @app.get("/values")
    def values_page():
        return render_template("values.html", **value_context())

    @app.get("/events/values")
    def value_events():
        return live("value_table.html", value_context, values.changes, VALUES_INTERVAL_S)

    @app.get("/loops/<loop>")
    def loop_page(loop):
        if loop not in values.loops():
            raise Refused("refused_unknown_loop", 404, f"There is no PID loop {loop[:64]!r}.",
                          user=g.user)
        problem, lines, ranges = None, {}, {}
        now_ms = time.time_ns() // 1_000_000
        window = (now_ms - SPARK_WINDOW_S * 1000, now_ms)
        try:
            trend = history.loop_trend(loop) if history is not None else {}
        except HistoryError as error:
            trend, problem = {}, str(error)
        process = [v for m in ("pv", "sp") for _, v in trend.get(m, [])]
        outs = [v for _, v in trend.get("out", [])]
        for member, points in trend.items():
            low, high = ((min(outs), max(outs)) if member == "out" and outs
                         else (min(process), max(process)) if process else (None, None))
            ranges[member] = (low, high)
            lines[member] = polyline(points, 900, 300, low, high, x_range=window)
        return render_template("loop.html", loop=loop, lines=lines, ranges=ranges,
                               problem=problem, latest={m: values_latest(loop, m)
                                                        for m in ("pv", "sp", "out")})

    def values_latest(device, measurement):
        for series in values.series():
            if (series.device, series.measurement) == (device, measurement):
                return series.value
        return None

    @app.get("/performance")
    def performance_page():
        now_ms = time.time_ns() // 1_000_000
        figures, problem = None, None
        try:
            start, end = api_module.time_range(
                {"from": request.args.get("from") or str(now_ms - 86_400_000),
                 "to": request.args.get("to") or ""}, config.api_max_range_s, now_ms)
            if history is None:
                raise HistoryError("no InfluxDB configured")
            entries = history.alarm_journal(start, end, PERFORMANCE_MAX_ENTRIES)
            figures = performance.report(entries, start, end, config.operators, board.alarms(),
                                         now_ms)
            if len(entries) == PERFORMANCE_MAX_ENTRIES:
                problem = (f"Only the newest {PERFORMANCE_MAX_ENTRIES} journal entries were "
                           "counted: choose a shorter range.")
        except (api_module.BadRequest, HistoryError) as error:
            problem = str(error)
        return render_template("performance.html", figures=figures, problem=problem,
                               limits=performance)

    def tag_context(**extra):
        document, problem = {}, None
        try:
            document = tagmap.read_document(config.opcua.nodes_path)
        except (tagmap.MappingError, OSError, ValueError) as error:
            problem = str(error)
        return {"rows": tagmap.mapped(document), "problem": problem,
                "nodes_path": str(config.opcua.nodes_path), "roles": tagmap.ROLES, **extra}

    def browser():
        if config.opcua is None:
            raise Refused("refused_no_opcua", 404, "Tag mapping is off: OPCUA_ENDPOINT is not "
                          "set for the console.", user=g.user)
        return tagmap.Browser(config.opcua)

    @app.get("/tags")
    @security.needs("engineer")
    def tags_page():
        tags = browser()
        node, path, query = (request.args.get("node", ""), request.args.get("path", "Objects"),
                             request.args.get("q", "").strip())
        children, error = [], None
        try:
            if query:
                children = tags.search(query[:100])
            else:
                children = tags.children(node or None, path[:500])
        except tagmap.MappingError as problem:
            error = str(problem)
        return render_template("tags.html", **tag_context(
            children=children, node=node, path=path, query=query, error=error))

    @app.post("/tags/add")
    @security.needs("engineer")
    def tags_add():
        tags = browser()
        form = request.form
        deadband_text = form.get("deadband", "").strip()
        try:
            deadband = None
            if deadband_text:
                try:
                    deadband = float(deadband_text)
                except ValueError:
                    deadband = -1.0
                if not (math.isfinite(deadband) and deadband >= 0):
                    raise tagmap.MappingError(
                        f"the deadband is a number of at least 0, not {deadband_text[:20]!r}")
            variable = tags.variable(form.get("node", "")[:500])
            document = tagmap.add(tagmap.read_document(config.opcua.nodes_path), variable,
                                  form.get("role", ""), form.get("device", "").strip(),
                                  form.get("measurement", "").strip(), deadband)
            tagmap.save(config.opcua.nodes_path, document)
        except tagmap.MappingError as error:
            counters.add("refused_tag_mapping")
            journal("refused", "tag_mapping", str(error), by=g.user)
            flash(f"Not saved: {error}")
            return redirect(url_for("tags_page", node=form.get("parent", ""),
                                    path=form.get("path", "Objects")), 303)
        role = form.get("role")
        target = (f"{form.get('device')}/{form.get('measurement')}" if role == "reading"
                  else f"{form.get('device')}/{role}")
        journal("tag_mapped", target, f"{variable.node_id} ({variable.data_type})", by=g.user)
        flash(f"Saved: {variable.node_id} feeds {target}. The bridge follows within 5 s.")
        return redirect(url_for("tags_page", node=form.get("parent", ""),
                                path=form.get("path", "Objects")), 303)

    @app.post("/tags/remove")
    @security.needs("engineer")
    def tags_remove():
        browser()
        device, measurement = request.form.get("device", ""), request.form.get("measurement", "")
        try:
            document = tagmap.read_document(config.opcua.nodes_path)
            tagmap.save(config.opcua.nodes_path, tagmap.remove(document, device, measurement))
        except tagmap.MappingError as error:
            counters.add("refused_tag_mapping")
            flash(f"Not saved: {error}")
            return redirect(url_for("tags_page"), 303)
        journal("tag_unmapped", f"{device}/{measurement}"[:128], "", by=g.user)
        flash(f"Removed {device}/{measurement}.")
        return redirect(url_for("tags_page"), 303)

    @app.post("/outputs/<output_id>/mode")
    @security.needs("operator")
    def set_mode(output_id):
        output = outputs.find(output_id)
        if output is None:
            raise Refused("refused_unknown_output", 404,
                          f"There is no output {output_id[:64]!r}: the actions service has not "
                          "published it.", user=g.user)
        request_ = read_mode_request(request.form)
        if isinstance(request_, str):
            counters.add("refused_bad_input")
            flash(f"Not done: {request_}")
            return redirect(url_for("outputs_page"), 303)
        mode, value, minutes, reason = request_
        until_ms = int((time.time() + minutes * 60) * 1000) if minutes else None
        words = describe_mode(mode, value, until_ms)
        if request.form.get("confirm") != "yes":
            return render_template("confirm_mode.html", output=output, mode=mode, value=value,
                                   minutes=minutes, reason=reason, words=words)
        try:
            link.set_mode(output, mode, g.user, reason, value, until_ms)
        except NotSent as error:
            counters.add("not_sent")
            flash(f"Not done: {error}")
            return redirect(url_for("outputs_page"), 303)
        journal("override", output.id, f"{words}: {reason}", by=g.user)
        flash(f"{output.id}: {words} requested; the page shows when the output follows.")
        return redirect(url_for("outputs_page"), 303)

    def _selected(field):
        idents = request.form.getlist(field)
        found = [board.find(i) for i in idents]
        return [a for a in found if a is not None], len(idents) - sum(a is not None for a in found)

    @app.post("/alarms/ack")
    @security.needs("operator")
    def acknowledge():
        selected, unknown = _selected("alarm")
        waiting = [a for a in selected if a.waiting]
        if not selected and not unknown:
            flash("Nothing selected to acknowledge.")
        try:
            for alarm in waiting:
                link.acknowledge(alarm, g.user)
                journal("ack", alarm.ident, f"acknowledged ({alarm.state})", by=g.user)
        except NotSent as error:
            counters.add("not_sent")
            flash(f"Not acknowledged: {error}")
            return redirect(url_for("alarms"), 303)
        if waiting:
            flash(f"Acknowledged {len(waiting)} alarm{'s' if len(waiting) != 1 else ''}.")
        elif selected:
            flash("Already acknowledged: nothing to do.")
        if unknown:
            flash(f"{unknown} alarm{'s' if unknown != 1 else ''} no longer listed: left alone.")
        return redirect(url_for("alarms"), 303)

    @app.post("/alarms/shelve")
    @security.needs("operator")
    def shelve():
        ident = request.form.get("alarm", "")
        action = request.form.get("action", "")
        reason = request.form.get("reason", "").strip()
        alarm = board.find(ident)
        problem = None
        until_ms = None
        if alarm is None:
            problem = "That alarm is no longer listed."
        elif action not in SHELVE_ACTIONS:
            problem = f"Unknown action {action[:40]!r}."
        elif action in ("shelve", "out-of-service") and not reason:
            problem = "Give a reason: it is journaled and shown to the next shift."
        elif len(reason) > MAX_REASON:
            problem = f"The reason is longer than {MAX_REASON} characters."
        elif action == "shelve":
            minutes_text = request.form.get("minutes", "").strip()
            try:
                minutes = float(minutes_text)
            except ValueError:
                minutes = -1
            limit = config.shelve_max_s / 60
            if not 1 <= minutes <= limit:
                problem = (f"Shelve for 1 to {limit:g} minutes (the maximum is "
                           f"CONSOLE_SHELVE_MAX_S), not {minutes_text[:20]!r}.")
            else:
                until_ms = int((time.time() + minutes * 60) * 1000)
        if problem:
            counters.add("refused_bad_input")
            flash(f"Not done: {problem}")
            return redirect(url_for("alarms"), 303)
        try:
            link.shelve(alarm, action, g.user, reason, until_ms)
        except NotSent as error:
            counters.add("not_sent")
            flash(f"Not done: {error}")
            return redirect(url_for("alarms"), 303)
        until = f" until {_when(until_ms)}" if until_ms else ""
        journal(action, alarm.ident, f"{SHELVE_ACTIONS[action]}{until}: {reason}", by=g.user)
        flash(f"{alarm.ident} {SHELVE_ACTIONS[action]}{until}.")
        return redirect(url_for("alarms"), 303)

    @app.errorhandler(404)
    def not_found(error):
        counters.add("not_found")
        journal("refused", "not_found", f"{request.method} {request.path[:200]}",
                by=g.get("user"))
        return render_template("refused.html", message="No such page."), 404

    @app.get("/counters")
    @security.needs("engineer")
    def show_counters():
        return jsonify({**counters.snapshot(), "bad_alarm_messages": board.bad_messages,
                        "bad_output_messages": outputs.bad_messages})

    app.jinja_env.globals.update(SHELVED=SHELVED, OUT_OF_SERVICE=OUT_OF_SERVICE)
    return app
