"""Refuse settings that would break the board build, with a message that names them.

The values of `[secrets]` (secrets.ini) and `[topics]` reach the compiler as
`'-D NAME="value"'` build flags, split like a shell line: a quote, backslash, dollar sign or
backtick in a value breaks the build or changes the value. And PlatformIO reads its files like
Python's configparser, where `%` starts an interpolation: a `%` is written `%%`.

PlatformIO runs this before every build (`extra_scripts = pre:check_secrets.py` in
platformio.ini). It also runs on its own: `python3 check_secrets.py [secrets.ini]`.
"""

import configparser
import re
import sys
from pathlib import Path

SECTIONS = ("secrets", "topics")
UNSAFE = re.compile(r"""['"\\$`]""")


def problems(values):
    """['secrets.wifi_password: ...'] for each value the build flags cannot carry."""
    found = []
    for name, value in sorted(values.items()):
        bad = sorted(set(UNSAFE.findall(value)))
        if bad:
            found.append(f"{name} contains {' '.join(bad)}, which the build flags cannot carry: "
                         "choose a value without quotes, backslashes, $ or backticks")
    return found


def read_values(path):
    """{section.option: value} of SECTIONS in an ini file, read the way PlatformIO reads it."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(Path(path).read_text(), source=str(path))
        return {f"{section}.{option}": parser.get(section, option)
                for section in SECTIONS if parser.has_section(section)
                for option in parser.options(section)}
    except configparser.InterpolationError as error:
        raise ValueError(f"{path}: a % in a value must be written %% ({error})") from None
    except configparser.Error as error:
        raise ValueError(f"{path}: {error}") from None


def main(argv):
    path = argv[0] if argv else Path(__file__).resolve().parent / "secrets.ini"
    try:
        found = problems(read_values(path))
    except (OSError, ValueError) as error:
        found = [str(error)]
    for line in found:
        print(f"check_secrets: {line}", file=sys.stderr)
    return 2 if found else 0


def check_build(env):
    """The pre-build step: the values as PlatformIO resolved them."""
    config = env.GetProjectConfig()
    values = {f"{section}.{option}": str(config.get(section, option))
              for section in SECTIONS if config.has_section(section)
              for option in config.options(section)}
    found = problems(values)
    if found:
        for line in found:
            print(f"check_secrets: {line}", file=sys.stderr)
        env.Exit(2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
elif "Import" in globals():  # run by PlatformIO's SCons as an extra script
    Import("env")  # noqa: F821
    check_build(env)  # noqa: F821
