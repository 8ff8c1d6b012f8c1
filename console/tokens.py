"""API tokens for other systems (an MES, a script): `<name>.<secret>`, sent as
`Authorization: Bearer <token>`, read-only. The file keeps each name's SHA-256 of the whole
token (192 random bits: a fast hash is enough, unlike a human password), written atomically.
`make token NAME=…` adds one and prints it once; `python -m console.tokens remove NAME`."""

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
from pathlib import Path

from console.users import NAME, UserError, write_json_atomically


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def read_file(path):
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read the tokens file: {error}") from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, dict) or not all(isinstance(v, dict) and isinstance(
            v.get("sha256"), str) for v in tokens.values()):
        raise UserError(f'{path}: expected {{"tokens": {{name: {{"sha256"}}}}}}')
    return tokens


class Tokens:
    """The tokens file, re-read when it changes."""

    def __init__(self, path):
        self.path = Path(path)
        self._stamp, self._tokens = None, {}

    def _load(self):
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._tokens = None, {}
            return self._tokens
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._tokens, self._stamp = read_file(self.path), stamp
        return self._tokens

    def check(self, token):
        """The token's name when it is valid, else None."""
        name, _, secret = (token or "").partition(".")
        entry = self._load().get(name) if secret else None
        expected = entry["sha256"] if entry else _digest("no such token")
        ok = hmac.compare_digest(expected, _digest(token or ""))
        return name if ok and entry else None


def add_token(path, name):
    if not NAME.match(name or ""):
        raise UserError(f"{name!r}: a token name is 1 to 64 letters, digits, '.', '_' or '-'")
    if "." in name:
        raise UserError(f"{name!r}: a token name has no '.'")
    tokens = read_file(path)
    token = f"{name}.{secrets.token_urlsafe(24)}"
    tokens[name] = {"sha256": _digest(token)}
    write_json_atomically(path, {"tokens": tokens})
    return token


def remove_token(path, name):
    tokens = read_file(path)
    if name not in tokens:
        raise UserError(f"no token {name!r} in {path}")
    del tokens[name]
    write_json_atomically(path, {"tokens": tokens})


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m console.tokens", description=__doc__)
    parser.add_argument("--file", default=os.environ.get("CONSOLE_TOKENS_FILE")
                        or "var/console/tokens.json", help="the tokens file (CONSOLE_TOKENS_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("add", help="add or replace a token; prints it").add_argument("name")
    commands.add_parser("remove", help="remove a token").add_argument("name")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            print(f"token {args.name} in {args.file}: {add_token(args.file, args.name)}")
        else:
            remove_token(args.file, args.name)
            print(f"removed token {args.name} from {args.file}")
    except UserError as error:
        print(f"console.tokens: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
