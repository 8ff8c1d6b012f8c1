"""Caddy (Debian's package) as the TLS front in tests: caddy/Caddyfile on free loopback ports,
its data (the internal CA) in a temporary folder; and a stand-in upstream that records paths."""

import http.server
import threading

from devstack.paths import ROOT
from devstack.servers import ManagedServer, find_binary, free_port, port_open

CADDYFILE = ROOT / "caddy" / "Caddyfile"


class Caddy(ManagedServer):
    name = "caddy"

    def __init__(self, console, grafana, webhook, tls=None, workdir=None):
        super().__init__(workdir)
        self.binary = find_binary("caddy")
        self.https_port = self.port
        self.http_port = free_port()
        self.health_port = free_port()
        self.upstreams = {"CADDY_CONSOLE": console, "CADDY_GRAFANA": grafana,
                          "CADDY_WEBHOOK": webhook}
        self.tls = tls

    @property
    def root_certificate(self):
        """The internal CA's root: what a browser or PLC must trust (docs/console.md)."""
        return self.workdir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def url(self, path="/"):
        return f"https://localhost:{self.https_port}{path}"

    def command(self):
        return [self.binary, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]

    def environment(self):
        env = {"HOME": str(self.workdir), "XDG_DATA_HOME": str(self.workdir / "data"),
               "XDG_CONFIG_HOME": str(self.workdir / "config"), "PATH": "/usr/bin:/bin",
               "CADDY_HTTP_PORT": str(self.http_port), "CADDY_HTTPS_PORT": str(self.https_port),
               "CADDY_REDIRECT_PORT": f":{self.https_port}",
               "CADDY_HEALTH_PORT": str(self.health_port),
               **self.upstreams}
        if self.tls:
            env["CADDY_TLS"] = self.tls
        return env

    def ready(self):
        return port_open(self.https_port) and port_open(self.health_port)


class Upstream:
    """A plain HTTP server standing in for Grafana or the webhook: answers `<name> <path>`."""

    def __init__(self, name):
        self.paths = []
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                upstream.paths.append((self.command, self.path,
                                       self.headers.get("X-Forwarded-Proto")))
                body = f"{name} {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
