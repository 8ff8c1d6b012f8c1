"""Who may do what: sessions with a lifetime and an idle limit, CSRF tokens on every change,
and roles. Every refusal is counted and journaled with its user by the app (`refuse`)."""

import functools
import hmac
import secrets
import time

from flask import g, request, session

from console.users import role_at_least

CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"


class Refused(Exception):
    """A request the console will not serve; `kind` names the counter, `status` the answer."""

    def __init__(self, kind, status, message, user=None):
        super().__init__(message)
        self.kind, self.status, self.message, self.user = kind, status, message, user


def csrf_token():
    """This browser's token (made once per session, also before login: the login form has one)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Refused("refused_csrf", 400, "This form is stale or did not come from the console "
                      "(missing or wrong CSRF token). Reload the page and try again.",
                      user=session.get("user"))


def start_session(user, role, now=None):
    now = time.time() if now is None else now
    token = session.get("csrf")
    session.clear()
    session.permanent = True
    session.update(user=user, role=role, login_at=now, seen_at=now,
                   csrf=token or secrets.token_urlsafe(32))


def current_user(config, users, now=None, touch=True):
    """(user, role) of a valid session, refreshed; Refused when it expired or is gone."""
    now = time.time() if now is None else now
    user = session.get("user")
    if not user:
        raise Refused("refused_no_session", 401, "Please log in.")
    login_at, seen_at = session.get("login_at", 0), session.get("seen_at", 0)
    role = users.role(user)  # the users file wins: a removed user or a changed role applies now
    if (now - login_at > config.session_max_s or now - seen_at > config.session_idle_s
            or role is None):
        # The CSRF token stays: a login form opened meanwhile (another tab) must still work.
        token = session.get("csrf")
        session.clear()
        if token:
            session["csrf"] = token
        raise Refused("refused_expired_session", 401,
                      "Your session has expired: log in again. Nothing was done.", user=user)
    if touch:
        session["seen_at"] = now
    session["role"] = role
    return user, role


def needs(role):
    """A view for users of at least `role`; the request's user is then `g.user`."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not role_at_least(g.role, role):
                raise Refused("refused_role", 403,
                              f"Your role ({g.role}) may not do this: it needs {role}.",
                              user=g.user)
            return view(*args, **kwargs)
        return wrapped

    return decorator

