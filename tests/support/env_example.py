"""`.env.example` as the tests read it: the one file that documents every setting."""

import re

from devstack.paths import ROOT

ENV_EXAMPLE = ROOT / ".env.example"


def documented():
    """{name: (value, its comment)} of the uncommented NAME=value lines of .env.example; lines
    in a row share the comment above them."""
    variables, comment, after_variable = {}, [], False
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            variables[match.group(1)] = (match.group(2), "\n".join(comment))
        elif line.startswith("#"):
            comment = [line] if after_variable else [*comment, line]
        else:
            comment = []
        after_variable = bool(match)
    return variables
