"""Real mosquitto and influxd processes on free loopback ports, data in temporary folders.

Each server keeps its data across stop()/start()/restart(), so outages can be simulated by
stopping the real process. close() stops it and deletes its folder.
"""

import atexit
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from devstack.wait import wait_until

LOOPBACK = "127.0.0.1"
_live = set()


try:
    # Loaded here, not in the forked child: dlopen() after fork() can deadlock when another
    # thread (a paho loop) held the loader's lock.
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child before exec: get SIGKILL when the process that started us dies, so that a
    killed test run or demo leaves no server behind (Linux prctl PR_SET_PDEATHSIG)."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)


class ServerMissing(RuntimeError):
    """The server binary is not installed (run `make deps`)."""


def _ephemeral_low():
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port():
    """A free loopback port, below the kernel's ephemeral range when there is room: a port from
    bind(0) can be taken as the local end of some outgoing connection before the server binds
    it, or while a stopped server waits to be restarted on it."""
    low = _ephemeral_low()
    if low and low > 20000:
        for _ in range(100):
            port = random.randrange(10000, low)
            if _bindable(port):
                return port
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_open(port, host=LOOPBACK):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def find_binary(name, extra_dirs=("/usr/sbin", "/usr/bin", "/usr/local/sbin")):
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).exists()), None
    )
    if not found:
        raise ServerMissing(f"{name} is not installed: run `make deps`")
    return found


class ManagedServer:
    """A server process in its own session, started and stopped on demand."""

    name = "server"
    start_timeout = 20.0
    stdin = subprocess.DEVNULL

    def __init__(self, workdir=None, port=None):
        self.host = LOOPBACK
        self.port = port or free_port()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"devstack-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self.process = None

    def command(self):
        raise NotImplementedError

    def environment(self):
        return None

    def ready(self):
        return port_open(self.port)

    def start(self):
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.environment(),
                stdin=self.stdin, start_new_session=True, preexec_fn=_die_with_parent,
            )
        _live.add(self)
        try:
            wait_until(lambda: self.ready() or self.process.poll() is not None,
                       self.start_timeout, message=f"{self.name} did not start")
        except TimeoutError:
            self.kill()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
        return self

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=15.0):
        """Graceful stop (SIGTERM): the server saves its state."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self):
        """Hard stop (SIGKILL): nothing is saved."""
        self._signal(signal.SIGKILL, 10.0)

    def restart(self):
        self.stop()
        wait_until(lambda: not port_open(self.port), 10, message=f"{self.name} port still open")
        return self.start()

    def freeze(self):
        """SIGSTOP: the server stops answering but keeps its connections open, like a host that
        lost power or a pulled cable (a stop() closes them). thaw() resumes it; close() and
        kill() work on a frozen server."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        """SIGCONT: a frozen server carries on where it stopped."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGCONT)

    def close(self):
        self.kill()
        _live.discard(self)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _signal(self, sig, timeout):
        if not self.running:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class Mosquitto(ManagedServer):
    """A mosquitto broker. `config` lines are appended to the harness's own.

    By default anonymous clients are allowed; pass `allow_anonymous false` and a
    `password_file` in `config` to test authentication. Persistence is on.
    """

    name = "mosquitto"

    def __init__(self, workdir=None, port=None, config=""):
        super().__init__(workdir, port)
        self.binary = find_binary("mosquitto")
        self.extra_config = config

    @property
    def config_path(self):
        return self.workdir / "mosquitto.conf"

    def command(self):
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 1",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto drops to the `mosquitto` user, which cannot write a
            # root-owned temporary folder. Staying root is harmless for a test broker.
            lines.append("user root")
        if "allow_anonymous" not in self.extra_config:
            lines.append("allow_anonymous true")
        self.config_path.write_text("\n".join(lines) + "\n" + self.extra_config + "\n")
        return [self.binary, "-c", str(self.config_path)]


class InfluxDB(ManagedServer):
    """An InfluxDB 1.x server (influxd). With auth=True, HTTP authentication is on."""

    name = "influxd"
    start_timeout = 60.0

    def __init__(self, workdir=None, port=None, auth=False):
        super().__init__(workdir, port)
        self.binary = find_binary("influxd")
        self.auth = auth
        self.rpc_port = free_port()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as answer:  # noqa: S310
                return answer.status == 204
        except (OSError, urllib.error.URLError):
            return False

    def command(self):
        data = self.workdir / "data"
        config = f"""\
reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"
[meta]
  dir = "{data}/meta"
[data]
  dir = "{data}/data"
  wal-dir = "{data}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  auth-enabled = {str(self.auth).lower()}
  log-enabled = false
[continuous_queries]
  enabled = true
  log-enabled = false
  run-interval = "1s"
[logging]
  level = "warn"
"""
        path = self.workdir / "influxdb.conf"
        path.write_text(config)
        return [self.binary, "-config", str(path)]


class Service(ManagedServer):
    """Any command of ours (`python -m listener`, a simulator...) run like the servers above.

    `env` is added to this process's environment; `ready` is a callable that says when the
    service is up (default: as soon as it was started). `port` is informational.
    """

    def __init__(self, name, command, env=None, ready=None, port=None, workdir=None,
                 stdin=subprocess.DEVNULL):
        self.name = name
        super().__init__(workdir, port)
        self._command = list(command)
        self._env = dict(env or {})
        self._ready = ready
        self.stdin = stdin

    def command(self):
        return self._command

    def environment(self):
        return {**os.environ, **self._env}

    def ready(self):
        return self._ready() if self._ready else True

    @property
    def returncode(self):
        return None if self.process is None else self.process.poll()

    def restart(self):
        self.stop()
        return self.start()


@atexit.register
def _stop_leftovers():
    for server in list(_live):
        server.close()
