"""`.env.example` against the services' config readers: every variable a reader reads is
documented there, and its documented value is the reader's default (setting it changes nothing),
except where its comment says "Default here" (a deliberate deployment choice) or "Required"."""

import functools
import importlib
import re

import pytest

from service_common.config import ConfigError, EnvReader
from tests.support.env_example import ENV_EXAMPLE, documented

READERS = [
    ("listener.config", "read_settings"),
    ("webhook.config", "read_config"),
    ("opcua_bridge.config", "read_settings"),
    ("actions.config", "read_settings"),
    ("console.config", "read_config"),
]
# Required variables whose documented value is empty, and what the test gives them instead.
SEEDS = {"OPCUA_ENDPOINT": "opc.tcp://plc:4840/", "CONSOLE_SECRET_KEY": "k" * 32}
_REQUIRED = re.compile(r"^(\w+) is required")
_NOT_A_DEFAULT = re.compile(r"\bDefault here\b|\bRequired\b")


def reader(module_name, function_name):
    read = getattr(importlib.import_module(module_name), function_name)
    if module_name == "opcua_bridge.config":  # the nodes file is checked by tests/opcua
        return functools.partial(read, with_nodes=False)
    if module_name == "actions.config":  # the actions file is checked by tests/actions
        return functools.partial(read, with_outputs=False)
    return read


def read_recording(read, environ):
    """(config, names read) of one call of `read`: every read goes through EnvReader.raw."""
    names = []
    original = EnvReader.raw

    def raw(self, name):
        names.append(name)
        return original(self, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EnvReader, "raw", raw)
        return read(dict(environ)), names


def minimal_environment(read, variables):
    """The empty environment plus a value for each variable the reader requires."""
    environ = {}
    for _ in range(2):
        try:
            read(dict(environ))
            return environ
        except ConfigError as error:
            for problem in error.problems:
                required = _REQUIRED.match(problem)
                if required:
                    name = required.group(1)
                    environ[name] = (variables.get(name, ("",))[0] or SEEDS.get(name)
                                     or "set-for-the-test")
    raise AssertionError(f"{read!r} needs more than its required variables")


@pytest.mark.parametrize("module_name, function_name", READERS, ids=[m for m, _ in READERS])
def test_every_variable_read_is_documented(module_name, function_name):
    read = reader(module_name, function_name)
    variables = documented()
    _, names = read_recording(read, minimal_environment(read, variables))
    assert names, "the reader must read through service_common.config.EnvReader"
    missing = [name for name in dict.fromkeys(names) if name not in variables]
    assert not missing, f"read by {module_name} but not in .env.example: {missing}"


@pytest.mark.parametrize("module_name, function_name", READERS, ids=[m for m, _ in READERS])
def test_documented_values_are_the_defaults(module_name, function_name):
    read = reader(module_name, function_name)
    variables = documented()
    base = minimal_environment(read, variables)
    expected, names = read_recording(read, base)
    differ = []
    for name in dict.fromkeys(names):
        if name in base or name not in variables:
            continue
        value, comment = variables[name]
        if _NOT_A_DEFAULT.search(comment):
            continue
        if read({**base, name: value}) != expected:
            differ.append(f"{name}={value}")
    assert not differ, f"{module_name}: .env.example documents values that are not defaults: " \
                       f"{differ}"


def test_each_variable_is_documented_once():
    names = [line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
             if re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line)]
    assert [name for name in dict.fromkeys(names) if names.count(name) > 1] == []
