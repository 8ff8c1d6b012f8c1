"""The console for tests: `python -m console` as a real process on a free loopback port, with
its own users file; and the retained documents the webhook would publish (CONTRACTS.md)."""

import json
import os
import sys
import time

from console.users import add_user
from devstack.paths import ROOT
from devstack.servers import ManagedServer

SECRET_KEY = "test-secret-key-" + "x" * 32
PASSWORDS = {"olga": ("operator", "olga-password-1"), "vic": ("viewer", "vic-password-1"),
             "eve": ("engineer", "eve-password-1")}


def make_users(path):
    for name, (role, password) in PASSWORDS.items():
        add_user(path, name, role, password)
    return path


def console_env(broker, users_file, port, **extra):
    return {"MQTT_HOST": broker.host, "MQTT_PORT": str(broker.port),
            "CONSOLE_SECRET_KEY": SECRET_KEY, "CONSOLE_HOST": "127.0.0.1",
            "CONSOLE_PORT": str(port), "CONSOLE_USERS_FILE": str(users_file),
            # Tests reach the console over plain http://localhost, which Chromium trusts.
            "CONSOLE_COOKIE_SECURE": "false", **extra}


class ConsoleServer(ManagedServer):
    name = "console"

    def __init__(self, broker, workdir=None, **extra):
        super().__init__(workdir)
        self.users_file = make_users(self.workdir / "users.json")
        self.extra = extra
        self.broker = broker

    @property
    def url(self):
        return f"http://localhost:{self.port}"

    def command(self):
        return [sys.executable, "-m", "console"]

    def environment(self):
        return {**os.environ, "PYTHONPATH": str(ROOT),
                **console_env(self.broker, self.users_file, self.port, **self.extra)}


def info(alert, device=None, state="unacked", value=None, threshold=None, summary=None,
         shelved=None, since=None, fired_at=None, acked_by=None):
    """An `alerts/<alert>[/<device>]/info` document as the webhook publishes it."""
    now = time.time_ns() // 1_000_000
    return json.dumps({
        "alert": alert, "device": device, "active": state in ("unacked", "acked"),
        "state": state, "since": since or now, "fired_at": fired_at or now, "value": value,
        "threshold": threshold, "summary": summary, "acked_by": acked_by, "shelved": shelved})


def info_topic(alert, device=None, root="alerts"):
    return f"{root}/{alert}" + (f"/{device}" if device else "") + "/info"
