#!/usr/bin/env python3
"""Register or remove one MQTT client: a board (`make device`, `make device-remove`) or a
listener replica.

Every client has its own broker user, and its client id is that username (the broker's
`use_username_as_clientid`), so no credential can take another client's session or status.

- The broker user goes into `mosquitto/config/passwd` (hashed, the other lines untouched).
- Its rights go into `mosquitto/config/devices.acl` (git-ignored), which the broker container
  appends to the shipped `acl` at start.
- A board also gets `firmware/devices/<id>.ini` (git-ignored), a PlatformIO environment
  `[env:<id>]` that extends the sensor, indicator or actuator environment with its id and
  credentials (an actuator on a NodeMCU: change `extends` to `env:actuator-esp8266`):
  `pio run -e <id> -t upload` flashes it.

Standard library only, like make_secrets.py beside it.
"""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_secrets import (  # noqa: E402 (the folder is no package: it runs before any venv)
    MQTT_USERS,
    RETIRED_USERS,
    SecretsError,
    hash_password,
    new_secret,
    passwd_users,
    write_private,
)

ROOT = Path(__file__).resolve().parent.parent

# What each kind of client may do besides writing its own status/<id> (a `pattern` of the shipped
# acl). The `listener` user's block in mosquitto/config/acl is the same as ROLES["listener"]
# (tests/deploy/test_devices.py ties them).
ROLES = {
    "sensor": ("topic write sensors/{id}/+",),
    # An indicator acknowledges on alerts/<alert>[/<device>]/ack/<its id>: the shipped acl's
    # `pattern write alerts/+/ack/%u` lines, so the broker vouches for who acknowledged.
    "indicator": ("topic read alerts/#", "topic read status/webhook"),
    # An actuator reads only its own commands and the actions service's liveness, and writes
    # only its own relays' states (CONTRACTS.md, "Actuator board").
    "actuator": ("topic read actuators/{id}/+/set", "topic read status/actions",
                 "topic write actuators/{id}/+/state"),
    "listener": ("topic read sensors/#", "topic read alerts/_webhook/+/journal",
                 "topic read $SYS/broker/#", "topic read journal/+"),
}
BOARD_ROLES = ("sensor", "indicator", "actuator")
# A device id is a topic level, a broker user, a PlatformIO environment, a file name and a C
# string: lower-case letters, digits, `-` and `_`, starting with a letter or digit.
DEVICE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# The services' client ids: a copy of service_common/service_ids.py's ALL (this script runs before
# any virtualenv; tests/firmware/test_device_names.py ties the two).
SERVICE_IDS = frozenset({"listener", "webhook", "opcua-bridge", "actions", "console"})
# Topic levels of an alert's own topics (alerts/<alert>/<device> would clash with them).
TOPIC_LEVELS = frozenset({"ack", "shelve", "info", "annunciator"})
RESERVED = (SERVICE_IDS | set(MQTT_USERS) | set(RETIRED_USERS) | TOPIC_LEVELS
            | {"grafana", "admin", "env"})
# `device: sim` of a node and `id: tic101` of a PID loop in the OPC UA bridge's nodes file: the
# bridge writes sensors/<that name>/..., so a board of that name would mix with the PLC's data.
NODES_NAME = re.compile(r"""^\s*(?:-\s*)?(?:device|id)\s*:\s*["']?([^"'\s#]+)""", re.MULTILINE)


def plc_names(nodes_file):
    """The device and loop names of the OPC UA nodes file (none when it does not exist)."""
    try:
        return set(NODES_NAME.findall(Path(nodes_file).read_text()))
    except FileNotFoundError:
        return set()


def check_name(name, nodes_file=None):
    if not DEVICE_ID.fullmatch(name or ""):
        raise SecretsError(f"NAME={name!r} is no device id: 1 to 64 lower-case letters, digits, "
                           "'-' or '_', starting with a letter or digit (e.g. esp32-a1b2c3)")
    if name in RESERVED:
        raise SecretsError(f"NAME={name!r} is the name of a service, a topic level or a retired "
                           "shared user: choose another one")
    if nodes_file is not None and name in plc_names(nodes_file):
        raise SecretsError(f"NAME={name!r} is a device or loop of the OPC UA bridge in "
                           f"{nodes_file}: its readings would mix with the PLC's, choose another "
                           "one")


def acl_block(name, role):
    lines = [f"# {name}: {role} (make device)", f"user {name}"]
    return "\n".join(lines + [rule.format(id=name) for rule in ROLES[role]]) + "\n"


def acl_without(text, name):
    """The devices' ACL without `name`'s block (blocks are separated by blank lines)."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    kept = [block for block in blocks if f"user {name}" not in block.splitlines()]
    return "\n\n".join(block.strip("\n") for block in kept) + ("\n" if kept else "")


def platformio_env(name, role, password):
    return (
        f"; Board {name} ({role}), written by `make device`: `pio run -e {name} -t upload`.\n"
        f"; Git-ignored: it holds the board's broker password. `make device-remove NAME={name}`\n"
        "; deletes it together with the broker user.\n"
        f"[env:{name}]\n"
        f"extends = env:{role}\n"
        f"custom_device_id = {name}\n"
        f"custom_mqtt_username = {name}\n"
        f"custom_mqtt_password = {password}\n"
    )


class Registry:
    """The files one registration touches."""

    def __init__(self, passwd, acl, boards, nodes_file=None):
        self.passwd, self.acl, self.boards = Path(passwd), Path(acl), Path(boards)
        self.nodes_file = nodes_file

    def _text(self, path):
        return path.read_text() if path.exists() else ""

    def board_file(self, name):
        return self.boards / f"{name}.ini"

    def add(self, name, role):
        """Register `name`; returns its new password."""
        check_name(name, self.nodes_file)
        if role not in ROLES:
            raise SecretsError(f"ROLE={role!r} must be one of {', '.join(ROLES)} "
                               "(or http, for an HTTP sender)")
        passwd = self._text(self.passwd)
        if name in passwd_users(passwd):
            raise SecretsError(f"{name} is registered already: `make device-remove NAME={name}` "
                               "first to give it a new password")
        password = new_secret()
        acl = acl_without(self._text(self.acl), name)
        write_private(self.acl, acl + ("\n" if acl else "") + acl_block(name, role))
        if role in BOARD_ROLES:
            write_private(self.board_file(name), platformio_env(name, role, password))
        write_private(self.passwd, passwd + f"{name}:{hash_password(password)}\n")
        return password

    def remove(self, name):
        """Remove `name`; returns what was removed (empty when it was not registered)."""
        check_name(name)
        removed = []
        passwd = self._text(self.passwd)
        if name in passwd_users(passwd):
            kept = [line for line in passwd.splitlines() if line.partition(":")[0] != name]
            write_private(self.passwd, "".join(line + "\n" for line in kept))
            removed.append(f"broker user {name}")
        acl = self._text(self.acl)
        if acl_without(acl, name) != acl:
            write_private(self.acl, acl_without(acl, name))
            removed.append("its ACL rules")
        if self.board_file(name).exists():
            self.board_file(name).unlink()
            removed.append(str(self.board_file(name)))
        return removed


def credentials(name, role, password, registry):
    lines = [f"registered {name} ({role})", f"device_id = {name}", f"mqtt_username = {name}",
             f"mqtt_password = {password}"]
    if role in BOARD_ROLES:
        lines.append(f"PlatformIO settings: {registry.board_file(name)}; flash with "
                     f"`cd firmware && pio run -e {name} -t upload`")
    else:
        lines.append(f"run the replica with MQTT_USERNAME={name}, MQTT_PASSWORD=<the password>, "
                     f"LISTENER_CLIENT_ID={name} and a $share/... LISTENER_TOPICS")
    lines.append("The broker reads its users at start: `docker compose restart mosquitto`.")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("add", "remove"))
    parser.add_argument("name")
    parser.add_argument("--role", default="")
    parser.add_argument("--passwd", default=ROOT / "mosquitto" / "config" / "passwd")
    parser.add_argument("--acl", default=ROOT / "mosquitto" / "config" / "devices.acl")
    parser.add_argument("--boards", default=ROOT / "firmware" / "devices")
    parser.add_argument("--nodes", default=ROOT / "opcua" / "opcua-nodes.yaml",
                        help="the OPC UA bridge's nodes file, whose names boards may not take")
    args = parser.parse_args(argv)
    registry = Registry(args.passwd, args.acl, args.boards, args.nodes)
    try:
        if args.action == "add":
            password = registry.add(args.name, args.role)
            print("\n".join(credentials(args.name, args.role, password, registry)))
        else:
            removed = registry.remove(args.name)
            if not removed:
                raise SecretsError(f"{args.name} is not registered")
            print(f"removed {', '.join(removed)}; then `docker compose restart mosquitto`")
    except SecretsError as error:
        print(f"make device: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"make device: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
