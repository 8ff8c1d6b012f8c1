"""Who may send readings to `POST /ingest`, and the command that manages the users file.

One user may come from INGEST_USERNAME / INGEST_PASSWORD / INGEST_DEVICES; more come from the
file INGEST_USERS_FILE, one line per user: `name:<sha256 hash>:<device patterns>` (patterns
comma-separated shell patterns such as `plc-*`; `#` starts a comment). The webhook reads the file
again when it changes. Passwords are checked in constant time.

    python -m webhook.ingest_users [--file PATH] add NAME --devices 'plc-*'
    python -m webhook.ingest_users [--file PATH] remove NAME
    python -m webhook.ingest_users [--file PATH] list
"""

import argparse
import base64
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import threading
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from service_common.files import replace_atomically

log = logging.getLogger(__name__)

_SCHEME = "sha256"
# Files of older versions hold PBKDF2 hashes (`pbkdf2_sha256$<iterations>$<salt>$<hash>`): still
# accepted, and replaced by a SHA-256 hash at the user's first good login (docs/ingest.md).
_LEGACY = "pbkdf2_sha256"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}", re.ASCII)
_BAD_PATTERN_CHARS = re.compile(r"[:,\s\x00-\x1f\x7f]")
_CACHE_LIMIT = 1000
PASSWORD_BYTES = 24  # 192 random bits: no key stretching can add to that


def hash_password(password, salt=None):
    """`sha256$<salt>$<hash>` (base64), the users file's hash format. The passwords are random,
    192 bits (add_user), so one fast salted hash is right: key stretching protects nothing there
    and would let any client burn the webhook's CPU."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.sha256(salt + password.encode()).digest()
    return "$".join((_SCHEME, base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()))


def is_legacy(encoded):
    return encoded.startswith(_LEGACY + "$")


def hash_problem(encoded):
    """Why `encoded` is no hash_password() result (nor an older version's), or None."""
    parts = encoded.split("$")
    if is_legacy(encoded):
        if len(parts) != 4 or not parts[1].isascii() or not parts[1].isdigit() \
                or not 1000 <= int(parts[1]) <= 10_000_000:
            return f"the hash must look like {_LEGACY}$<iterations>$<salt>$<hash>"
        salt_digest = parts[2:]
    elif len(parts) != 3 or parts[0] != _SCHEME:
        return f"the hash must look like {_SCHEME}$<salt>$<hash>"
    else:
        salt_digest = parts[1:]
    try:
        for part in salt_digest:
            base64.b64decode(part, validate=True)
    except ValueError:
        return "the hash's salt or digest is not base64"
    return None


def check_password(password, encoded):
    """True when `password` matches `encoded`, compared in constant time."""
    if is_legacy(encoded):
        _, iterations, salt, digest = encoded.split("$")
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                       int(iterations))
    else:
        _, salt, digest = encoded.split("$")
        computed = hashlib.sha256(base64.b64decode(salt) + password.encode()).digest()
    return hmac.compare_digest(computed, base64.b64decode(digest))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def patterns_problem(patterns):
    if not patterns:
        return "names no device pattern"
    for pattern in patterns:
        if not pattern or _BAD_PATTERN_CHARS.search(pattern):
            return f"device pattern {pattern!r} is empty or holds ':', ',', a space or a control"
    return None


def split_patterns(text):
    return tuple(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class IngestUser:
    name: str
    patterns: tuple
    password_hash: str = ""  # a users-file user
    password: str = field(default="", repr=False)  # the INGEST_USERNAME user

    def may_write(self, device):
        return any(fnmatchcase(device, pattern) for pattern in self.patterns)

    def line(self):
        return f"{self.name}:{self.password_hash}:{','.join(self.patterns)}\n"


def parse_users(text, source="users file"):
    """{name: IngestUser} from the file's text; ValueError naming every bad line."""
    users, problems = {}, []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3:
            problems.append(f"{source} line {number}: expected name:<hash>:<device patterns>")
            continue
        name, encoded, patterns = parts[0].strip(), parts[1].strip(), split_patterns(parts[2])
        problem = (None if _NAME.fullmatch(name) else f"{name!r} is no user name "
                   "(letters, digits, _ . @ -, at most 64)") \
            or hash_problem(encoded) or patterns_problem(patterns) \
            or (f"user {name!r} appears twice" if name in users else None)
        if problem:
            problems.append(f"{source} line {number}: {problem}")
            continue
        users[name] = IngestUser(name, patterns, password_hash=encoded)
    if problems:
        raise ValueError("; ".join(problems))
    return users


def read_users_file(path):
    """{name: IngestUser} from `path` ({} when it does not exist yet); ValueError when bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    return parse_users(text, str(path))


class IngestUsers:
    """Checks credentials against the environment's user and the users file (re-read when it
    changes). A user whose line still holds an older version's PBKDF2 hash gets a SHA-256 one at
    its first good login (when the file is writable); until then its verified password is
    remembered as a keyed hash, so a sender that posts often pays for PBKDF2 once."""

    def __init__(self, env_user=None, path=None):
        self.env_user = env_user
        self.path = Path(path) if path else None
        self._file_users = {}
        self._file_stamp = None
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._verified = {}  # (name, keyed hash of the password) -> the hash it matched
        if self.path:
            self._file_users = read_users_file(self.path)
            self._file_stamp = self._stamp()

    @property
    def enabled(self):
        return self.env_user is not None or self.path is not None

    def _stamp(self):
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def _users_file(self):
        if self.path is None:
            return {}
        stamp = self._stamp()
        if stamp != self._file_stamp:
            with self._lock:
                if stamp != self._file_stamp:
                    try:
                        self._file_users = read_users_file(self.path)
                        log.info("ingest users file %s read: %d users", self.path,
                                 len(self._file_users))
                    except ValueError as error:
                        log.error("keeping the previous ingest users: %s", error)
                    self._file_stamp = stamp
        return self._file_users

    def verify(self, name, password):
        """The IngestUser these credentials belong to, or None."""
        name, password = name or "", password or ""
        env_user = self.env_user
        if env_user is not None and hmac.compare_digest(name.encode(), env_user.name.encode()):
            given = hashlib.sha256(password.encode()).digest()
            expected = hashlib.sha256(env_user.password.encode()).digest()
            return env_user if hmac.compare_digest(given, expected) else None
        user = self._users_file().get(name)
        encoded = user.password_hash if user else _DUMMY_HASH
        key = (name, hmac.new(self._key, password.encode(), hashlib.sha256).digest())
        if user and self._verified.get(key) == encoded:
            return user
        if check_password(password, encoded) and user:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[key] = encoded
            if is_legacy(encoded):
                self._upgrade(user, password)
            return user
        return None

    def _upgrade(self, user, password):
        """Replace `user`'s PBKDF2 hash in the file by a SHA-256 one of the same password."""
        def change(users):
            if name in users and users[name].password_hash == user.password_hash:
                users[name] = replace(users[name], password_hash=hash_password(password))
            return users

        name = user.name
        try:
            _locked_update(self.path, change)
        except (OSError, ValueError) as error:
            log.warning("ingest user %r keeps its PBKDF2 hash (%s): each new connection of "
                        "it costs more CPU; give it a new password with "
                        "`python -m webhook.ingest_users remove/add`", name, error)
        else:
            log.info("ingest user %r: PBKDF2 hash replaced by a SHA-256 one", name)


# --- the command ------------------------------------------------------------------------------

def _locked_update(path, change):
    """Apply `change(users) -> users` to the file under a lock, then replace it atomically,
    keeping its mode and owner (e.g. the webhook container's user must still read it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users = read_users_file(path)
        users = change(users)
        text = "# alertloop ingest users: name:<sha256 hash>:<device patterns>\n" \
            + "".join(user.line() for user in users.values())
        replace_atomically(path, text, keep_owner_and_mode=True)


class _CommandError(Exception):
    pass


def add_user(path, name, patterns):
    """Add `name` with a new random password (returned); other users are kept as they are."""
    if not _NAME.fullmatch(name):
        raise _CommandError(f"{name!r} is no user name (letters, digits, _ . @ -, at most 64)")
    problem = patterns_problem(patterns)
    if problem:
        raise _CommandError(f"--devices {problem}")
    password = secrets.token_urlsafe(PASSWORD_BYTES)

    def change(users):
        if name in users:
            raise _CommandError(f"user {name!r} already exists in {path}: remove it first")
        return {**users, name: IngestUser(name, tuple(patterns), hash_password(password))}

    _locked_update(path, change)
    return password


def remove_user(path, name):
    def change(users):
        if name not in users:
            raise _CommandError(f"no user {name!r} in {path}")
        return {n: u for n, u in users.items() if n != name}

    _locked_update(path, change)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m webhook.ingest_users",
                                     description="Manage the users of POST /ingest.")
    parser.add_argument("--file", default=os.environ.get("INGEST_USERS_FILE"),
                        help="the users file (default: $INGEST_USERS_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user with a new random password")
    add.add_argument("name")
    add.add_argument("--devices", required=True,
                     help="comma-separated shell patterns of the devices it may write, e.g. plc-*")
    commands.add_parser("remove", help="remove a user").add_argument("name")
    commands.add_parser("list", help="list the users and their device patterns")
    args = parser.parse_args(argv)
    if not args.file:
        parser.error("no users file: pass --file or set INGEST_USERS_FILE")
    try:
        if args.command == "add":
            patterns = split_patterns(args.devices)
            password = add_user(args.file, args.name, patterns)
            print(f"ingest user {args.name} added to {args.file}, devices {','.join(patterns)}")
            print(f"ingest_username = {args.name}")
            print(f"ingest_password = {password}")
        elif args.command == "remove":
            remove_user(args.file, args.name)
            print(f"ingest user {args.name} removed from {args.file}")
        else:
            for user in read_users_file(args.file).values():
                print(f"{user.name}: {','.join(user.patterns)}")
    except (_CommandError, ValueError, OSError) as error:
        print(f"webhook.ingest_users: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
