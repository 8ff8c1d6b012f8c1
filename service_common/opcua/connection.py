"""How to reach the OPC UA server: the OPCUA_* connection settings (endpoint, security, the
client's certificate, the trusted server certificate, the user) and the nodes file's path,
read and checked before any I/O. The bridge's settings extend them; the console reads them for
its browsing sessions."""

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from service_common.config import defaults

SECURITY_MODES = ("None", "Basic256Sha256,Sign", "Basic256Sha256,SignAndEncrypt")
_THUMBPRINT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class OpcuaConnection:
    endpoint: str
    nodes_path: Path = Path("opcua-nodes.yaml")
    security: str = "None"
    cert: Path | None = None
    key: Path | None = None
    trust_dir: Path | None = None
    server_thumbprint: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @property
    def secure(self):
        return self.security != "None"


def read_connection(env):
    """OpcuaConnection from the OPCUA_* connection variables; problems go to env.problems.
    Every default is OpcuaConnection's own."""
    default = defaults(OpcuaConnection)
    endpoint = env.str("OPCUA_ENDPOINT", required=True)
    if endpoint:
        url = urlsplit(endpoint)
        if url.scheme != "opc.tcp" or not url.hostname:
            env.problems.append(f"OPCUA_ENDPOINT={endpoint!r} must look like opc.tcp://plc:4840/")
    security = env.str("OPCUA_SECURITY", default.security).replace(" ", "")
    if security not in SECURITY_MODES:
        env.problems.append(f"OPCUA_SECURITY={security!r} must be one of "
                            + ", ".join(SECURITY_MODES))
    thumbprint = env.str("OPCUA_SERVER_THUMBPRINT")
    if thumbprint:
        thumbprint = thumbprint.replace(":", "").lower()
        if not _THUMBPRINT.match(thumbprint):
            env.problems.append("OPCUA_SERVER_THUMBPRINT must be a SHA-1 (40 hex digits) or "
                                "SHA-256 (64 hex digits) certificate thumbprint")
    connection = OpcuaConnection(
        endpoint=endpoint or "",
        nodes_path=Path(env.str("OPCUA_NODES", str(default.nodes_path))),
        security=security,
        cert=_path(env.str("OPCUA_CERT")),
        key=_path(env.str("OPCUA_KEY")),
        trust_dir=_path(env.str("OPCUA_TRUST_DIR")),
        server_thumbprint=thumbprint,
        username=env.str("OPCUA_USERNAME"),
        password=env.str("OPCUA_PASSWORD"),
        timeout=env.float("OPCUA_TIMEOUT", default.timeout, 0.5, 300),
    )
    _check_security(connection, env.problems)
    return connection


def _path(value):
    return Path(value) if value else None


def _check_security(settings, problems):
    if settings.password and not settings.username:
        problems.append("OPCUA_PASSWORD is set but OPCUA_USERNAME is not")
    if settings.username and not settings.password:
        problems.append("OPCUA_USERNAME is set but OPCUA_PASSWORD is not")
    if not settings.secure:
        if settings.username:
            problems.append("OPCUA_USERNAME needs OPCUA_SECURITY=Basic256Sha256,Sign or "
                            "Basic256Sha256,SignAndEncrypt: without security the password "
                            "crosses the network readable")
        return
    for name, path in (("OPCUA_CERT", settings.cert), ("OPCUA_KEY", settings.key)):
        if path is None:
            problems.append(f"{name} is required with OPCUA_SECURITY={settings.security} "
                            "(create it with `python scripts/opcua_cert.py`, "
                            "with `--service console` for the console)")
        elif not path.is_file():
            problems.append(f"{name}={str(path)!r}: no such file "
                            "(create it with `python scripts/opcua_cert.py`, "
                            "with `--service console` for the console)")
    if settings.trust_dir is None and settings.server_thumbprint is None:
        problems.append(f"OPCUA_SECURITY={settings.security} needs the server's certificate "
                        "trusted: set OPCUA_TRUST_DIR (a folder with it) or "
                        "OPCUA_SERVER_THUMBPRINT")
    elif settings.trust_dir is not None and not settings.trust_dir.is_dir():
        problems.append(f"OPCUA_TRUST_DIR={str(settings.trust_dir)!r}: no such folder")

