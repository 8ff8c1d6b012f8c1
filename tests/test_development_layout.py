"""Where development code lives (docs/development.md): nothing imports a conftest file, and the
repository root has one definition, devstack.paths.ROOT."""

import os
import re

from devstack.paths import ROOT

SKIPPED_FOLDERS = {".git", ".venv", "build", ".pio", "node_modules", "__pycache__"}
THIS_FILE = "tests/test_development_layout.py"
CONFTEST_IMPORT = re.compile(r"^\s*(from\s+[\w.]*conftest\s+import|import\s+[\w.]*conftest\b"
                             r"|from\s+[\w.]+\s+import\s+conftest\b)")
ROOT_FROM_FILE = re.compile(r"__file__\)\.resolve\(\)\.(parents\[\d\]|parent\.parent)")
# scripts/ run with the system Python before any virtualenv, so they find the root themselves;
# tests/deploy/test_scripts_root.py ties theirs to devstack.paths.ROOT.
OWN_ROOT = {"devstack/paths.py", "scripts/make_secrets.py", "scripts/devices.py",
            "scripts/opcua_cert.py"}


def python_files():
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, ROOT).replace(os.sep, "/"), path


def lines_matching(pattern, allowed=()):
    found = []
    for relative, path in python_files():
        if relative in allowed or relative == THIS_FILE:
            continue
        with open(path, encoding="utf-8", errors="replace") as source:
            for number, line in enumerate(source, 1):
                if pattern.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_nothing_imports_a_conftest():
    """Plain helpers live in tests/support or devstack; shared fixtures are plugins."""
    assert lines_matching(CONFTEST_IMPORT) == []


def test_the_repository_root_is_devstack_paths_root():
    assert lines_matching(ROOT_FROM_FILE, allowed=OWN_ROOT) == []
