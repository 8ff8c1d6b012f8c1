"""The console's users: name, role and a slow password hash, in one JSON file on the console's
own disk, written atomically. `make user NAME=… ROLE=…` adds or replaces one and prints its
generated password (docs/console.md).

Roles are ordered: a viewer sees; an operator also acknowledges, shelves and overrides outputs;
an engineer also maps OPC UA tags.
"""

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from service_common.files import replace_atomically

ROLES = ("viewer", "operator", "engineer")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# scrypt (werkzeug's default, N=32768): tens of milliseconds per try, on purpose.
HASH_METHOD = "scrypt"
# Compared against when the user does not exist, so that a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("not a password", method=HASH_METHOD)


class UserError(ValueError):
    """A bad user name, role or users file; the message says which."""


def name_problem(name):
    if not isinstance(name, str) or not NAME.match(name):
        return ("a user name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit")
    return None


def role_at_least(role, needed):
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


class Users:
    """The users file; re-read when it changes on disk, so `make user` needs no restart."""

    def __init__(self, path):
        self.path = Path(path)
        self._stamp = None
        self._users = {}

    def _load(self):
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._users = None, {}
            return self._users
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._users = read_file(self.path)
            self._stamp = stamp
        return self._users

    def check(self, name, password):
        """The user's role when the password is right, else None (same cost either way)."""
        user = self._load().get(name) if isinstance(name, str) else None
        hashed = user["hash"] if user else _DUMMY_HASH
        ok = check_password_hash(hashed, password or "")
        return user["role"] if ok and user else None

    def role(self, name):
        user = self._load().get(name)
        return user["role"] if user else None

    def names(self):
        return sorted(self._load())


def read_file(path):
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read the users file: {error}") from None
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, dict):
        raise UserError(f'{path}: expected {{"users": {{name: {{"role", "hash"}}}}}}')
    for name, user in users.items():
        if (name_problem(name) or not isinstance(user, dict) or user.get("role") not in ROLES
                or not isinstance(user.get("hash"), str)):
            raise UserError(f"{path}: user {name!r} is malformed")
    return users


def write_file(path, users):
    write_json_atomically(path, {"users": users})


def write_json_atomically(path, document):
    """Replace a file atomically, readable by its owner only (service_common.files)."""
    replace_atomically(path, json.dumps(document, indent=1, sort_keys=True))


def add_user(path, name, role, password=None):
    """Add or replace `name` with `role`; returns the password (generated unless given)."""
    problem = name_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    if role not in ROLES:
        raise UserError(f"role {role!r} must be one of {', '.join(ROLES)}")
    users = read_file(path) if Path(path).exists() else {}
    password = password or secrets.token_urlsafe(15)
    users[name] = {"role": role, "hash": generate_password_hash(password, method=HASH_METHOD)}
    write_file(path, users)
    return password


def remove_user(path, name):
    users = read_file(path) if Path(path).exists() else {}
    if name not in users:
        raise UserError(f"no user {name!r} in {path}")
    del users[name]
    write_file(path, users)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m console.users", description=__doc__)
    parser.add_argument("--file", default=os.environ.get("CONSOLE_USERS_FILE")
                        or "var/console/users.json", help="the users file (CONSOLE_USERS_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add or replace a user; prints a new password")
    add.add_argument("name")
    add.add_argument("role", choices=ROLES)
    remove = commands.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    commands.add_parser("list", help="the users and their roles")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            password = add_user(args.file, args.name, args.role)
            print(f"user {args.name} ({args.role}) in {args.file}; password: {password}")
        elif args.command == "remove":
            remove_user(args.file, args.name)
            print(f"removed {args.name} from {args.file}")
        else:
            users = read_file(args.file) if Path(args.file).exists() else {}
            for name in sorted(users):
                print(f"{name}\t{users[name]['role']}")
    except UserError as error:
        print(f"console.users: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
