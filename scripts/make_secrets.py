#!/usr/bin/env python3
"""Write `.env` with strong random secrets and the broker's hashed password file.

`make secrets` runs this before any virtualenv exists, so it uses the standard library only.

- `.env` is created from `.env.example`. When it exists already, it is edited in place: a secret
  that is empty gets a random value, a setting that is missing is appended with its example
  comment and default. Nothing that has a value is ever changed.
- `mosquitto/config/passwd` holds one line per MQTT user in mosquitto 2.0's PBKDF2-SHA512 format
  (`user:$7$<iterations>$<base64 salt>$<base64 hash>`). The services' users get the passwords in
  `.env`; a line that still matches is kept as it is, so running this again changes nothing. The
  boards' users (`make device`, scripts/devices.py) are kept untouched; the shared `sensor` and
  `indicator` users of older versions are removed (docs/boards.md, "Upgrading").

Both files are created readable by their owner only. Secrets are never printed. Refused, with
exit code 2 and nothing changed: a hand-set secret that docker compose would read differently
from how it is hashed here (`$`, `#`, quotes, spaces, backslashes), a hand-set secret shorter
than 16 characters (empty it for a random one), and a `.env` that other users can read.
"""

import argparse
import base64
import hashlib
import hmac
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Settings that get a random value when empty. WEBHOOK_USERNAME is not secret: it keeps the
# example's default (grafana).
SECRETS = (
    "MQTT_LISTENER_PASSWORD",
    "MQTT_LISTENER_STATS_PASSWORD",
    "MQTT_WEBHOOK_PASSWORD",
    "MQTT_OPCUA_BRIDGE_PASSWORD",
    "MQTT_ACTIONS_PASSWORD",
    "INFLUXDB_ADMIN_PASSWORD",
    "INFLUXDB_WRITER_PASSWORD",
    "INFLUXDB_READER_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "WEBHOOK_PASSWORD",
    "WEBHOOK_HMAC_SECRET",
    "ACK_PASSWORD",
    "INGEST_PASSWORD",
    "CONSOLE_SECRET_KEY",  # signs the console's session cookies
    "MQTT_CONSOLE_PASSWORD",
    "INFLUXDB_CONSOLE_PASSWORD",
)
# Shorter hand-set secrets are refused: 16 random characters of letters and digits are 95 bits.
MIN_SECRET_LENGTH = 16

# The services' broker users and the `.env` setting that holds each one's password. Boards have
# their own users (scripts/devices.py).
MQTT_USERS = {
    "listener": "MQTT_LISTENER_PASSWORD",
    "listener-stats": "MQTT_LISTENER_STATS_PASSWORD",
    "webhook": "MQTT_WEBHOOK_PASSWORD",
    "opcua-bridge": "MQTT_OPCUA_BRIDGE_PASSWORD",
    "actions": "MQTT_ACTIONS_PASSWORD",
    "console": "MQTT_CONSOLE_PASSWORD",
}
# Folders compose bind-mounts that hold what you put there (certificates, the nodes file): made
# here, as you, so that docker does not make them (and their parents, such as secrets/) as root
# on the first `up`, where scripts/opcua_cert.py could not write any more.
MOUNTED_FOLDERS = ("secrets/tls", "secrets/opcua/trusted", "secrets/opcua-console", "opcua")
# Shared board users of older versions: every board's flash held their password.
RETIRED_USERS = ("sensor", "indicator")

# Characters docker compose reads differently in `.env` ($ interpolates, # may start a comment,
# quotes are removed) or that a shell or config line would split on.
UNSAFE_IN_SECRETS = re.compile(r"""[$#'"`\\\s]""")

# mosquitto 2.0's defaults (src/password_mosq.c): 12 bytes of salt, 101 rounds of PBKDF2-SHA512.
PBKDF2_ITERATIONS = 101
SALT_BYTES = 12
SECRET_BYTES = 24  # 192 bits, 32 URL-safe characters: no quoting needed anywhere.

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


class SecretsError(Exception):
    """Input that cannot be used; the message says which and why."""


def new_secret():
    """32 URL-safe characters; never a leading `-`, which a command line could take for an option
    (InfluxDB's init script passes the admin password to `influx -password` unquoted)."""
    while True:
        value = secrets.token_urlsafe(SECRET_BYTES)
        if not value.startswith("-"):
            return value


def hash_password(password, salt=None, iterations=PBKDF2_ITERATIONS):
    """One mosquitto 2.0 password-file hash (the part after `user:`)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    salt_b64, digest_b64 = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"$7${iterations}${salt_b64}${digest_b64}"


def password_matches(encoded, password):
    """True when `encoded` (a `$7$` hash) was made from `password`."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    if iterations < 1:
        return False
    actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(actual, expected)


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_env(text):
    """{name: value} of every `NAME=value` line (the last one wins, like docker compose)."""
    values = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and not line.lstrip().startswith("#"):
            values[match.group(1)] = _unquote(match.group(2))
    return values


def example_blocks(text):
    """[(name, comment lines, default line)] for every setting of the example, in order."""
    blocks, comments = [], []
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and not line.lstrip().startswith("#"):
            blocks.append((match.group(1), comments, line))
            comments = []
        elif line.startswith("#"):
            comments.append(line)
        else:
            comments = []
    return blocks


def fill_env(env_text, example_text):
    """(new .env text, names of the secrets generated). `env_text` is None when there is none."""
    generated = []

    def fill(line):
        match = _ASSIGNMENT.match(line)
        if match and match.group(1) in SECRETS and not _unquote(match.group(2)):
            generated.append(match.group(1))
            return f"{match.group(1)}={new_secret()}"
        return line

    if env_text is None:
        lines = [fill(line) for line in example_text.splitlines()]
        return "\n".join(lines) + "\n", generated

    present = parse_env(env_text)
    lines = [fill(line) for line in env_text.splitlines()]
    missing = [block for block in example_blocks(example_text) if block[0] not in present]
    if missing:
        lines += ["", "# Added by `make secrets` from .env.example:"]
        for _name, comments, default in missing:
            lines += comments + [fill(default)]
    return "\n".join(lines) + "\n", generated


def passwd_users(text):
    """{user: encoded hash} of a password file."""
    users = {}
    for line in text.splitlines():
        user, sep, encoded = line.partition(":")
        if sep:
            users[user] = encoded.strip()
    return users


def check_secrets(env):
    """Refuse secrets that compose would pass on differently from what is hashed here, and
    hand-set ones too short to resist guessing."""
    unsafe = [name for name in SECRETS if UNSAFE_IN_SECRETS.search(env.get(name, ""))]
    if unsafe:
        raise SecretsError(
            f"{', '.join(unsafe)} in .env contain $, #, a quote, a backslash or a space, which "
            "docker compose would read differently: empty them and run make secrets again for "
            "new random ones, or use letters, digits, - and _ only")
    weak = [name for name in SECRETS if 0 < len(env.get(name, "")) < MIN_SECRET_LENGTH]
    if weak:
        raise SecretsError(
            f"{', '.join(weak)} in .env are shorter than {MIN_SECRET_LENGTH} characters, easy "
            "to guess: empty them and run make secrets again for new random ones")


def check_private(env_path):
    """Refuse a `.env` that other users can read: its secrets are already exposed."""
    mode = env_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretsError(
            f"{env_path} is readable by other users (mode {mode:o}): its secrets may have been "
            f"read. Make it private (chmod 600 {env_path}), consider changing them, then run "
            "make secrets again")


def render_passwd(env, old_text=""):
    """The broker's password file: the services' users (MQTT_USERS) with the passwords in `env`,
    each line kept when it still matches; every other user (the boards') kept as it is; the
    retired shared users dropped."""
    old = passwd_users(old_text)
    missing = [name for name in MQTT_USERS.values() if not env.get(name)]
    if missing:
        raise SecretsError("no value in .env for " + ", ".join(missing))
    lines = []
    for user, setting in MQTT_USERS.items():
        password = env[setting]
        encoded = old.get(user, "")
        if not password_matches(encoded, password):
            encoded = hash_password(password)
        lines.append(f"{user}:{encoded}")
    lines += [f"{user}:{encoded}" for user, encoded in old.items()
              if user not in MQTT_USERS and user not in RETIRED_USERS]
    return "\n".join(lines) + "\n"


def write_private(path, text):
    """Replace `path` atomically and durably with `text` (the file, then its folder, fsynced:
    what a power cut right after leaves is the old file or the new one, whole), readable and
    writable by its owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise SecretsError(f"cannot write {path}: {error.strerror} (is {path.parent} read-only "
                           "or someone else's?)") from error
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), 0o600)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise SecretsError(f"cannot read {path}: {error}") from error


def make_secrets(env_path, example_path, passwd_path):
    """Bring `.env` and the password file up to date; returns lines that describe what changed."""
    example = _read(example_path)
    if example is None:
        raise SecretsError(f"{example_path} is missing: it is the template for .env")
    old_env = _read(env_path)
    report = []
    if old_env is not None:
        check_private(env_path)
        check_secrets(parse_env(old_env))
    new_env, generated = fill_env(old_env, example)
    if new_env != old_env:
        write_private(env_path, new_env)
        action = "created" if old_env is None else "updated"
        report.append(f"{action} {env_path} ({len(generated)} new secrets)")
    else:
        report.append(f"{env_path} is complete: nothing changed")

    old_passwd = _read(passwd_path) or ""
    new_passwd = render_passwd(parse_env(new_env), old_passwd)
    if new_passwd != old_passwd:
        write_private(passwd_path, new_passwd)
        report.append(f"wrote {passwd_path} ({len(MQTT_USERS)} service users, hashed)")
        retired = [user for user in RETIRED_USERS if user in passwd_users(old_passwd)]
        if retired:
            report.append(f"removed the shared board users {', '.join(retired)}: give each board "
                          "its own with make device (docs/boards.md)")
    else:
        report.append(f"{passwd_path} matches .env: nothing changed")
    return report


def make_folders(root):
    """Make the missing MOUNTED_FOLDERS below `root`; returns lines that name them."""
    made = [name for name in MOUNTED_FOLDERS if not (Path(root) / name).is_dir()]
    for name in made:
        (Path(root) / name).mkdir(parents=True)
    return [f"made the folders {', '.join(made)} (compose mounts them)"] if made else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", type=Path, default=ROOT / ".env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--passwd", type=Path, default=ROOT / "mosquitto" / "config" / "passwd")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="where the folders compose mounts are made (default: the checkout)")
    args = parser.parse_args(argv)
    try:
        report = make_secrets(args.env, args.example, args.passwd)
        report += make_folders(args.root)
    except SecretsError as error:
        print(f"make secrets: {error}", file=sys.stderr)
        return 2
    for line in report:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
