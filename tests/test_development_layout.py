"""Where development code lives (docs/development.md): nothing imports a conftest file, the
repository root has one definition, devstack.paths.ROOT, every package is in the layout, and
nothing points at a design document the repository does not have."""

import ast
import os
import re

import pytest

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


def python_files(suffixes=(".py",)):
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            if name.endswith(suffixes):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, ROOT).replace(os.sep, "/"), path


def lines_matching(pattern, allowed=(), suffixes=(".py",)):
    found = []
    for relative, path in python_files(suffixes):
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


# The design notes these pages grew from are not part of the repository: the docs are.
SOURCE_SUFFIXES = (".py", ".md", ".h", ".cpp", ".ini", ".yml", ".yaml", ".toml", ".hcl", ".sh",
                   ".txt", ".json")


def test_nothing_refers_to_a_design_document_outside_the_repository():
    assert lines_matching(re.compile(r"\bDESIGN\.md\b"), suffixes=SOURCE_SUFFIXES) == []


def packages():
    """Top-level folders with Python code, i.e. the services, service_common, devstack and the
    rest (tests/, bench/, scripts/), and firmware/."""
    return sorted(entry.name for entry in ROOT.iterdir()
                  if entry.is_dir() and entry.name not in SKIPPED_FOLDERS
                  and not entry.name.startswith(".")
                  and (any(entry.glob("*.py")) or entry.name == "firmware"))


def test_the_layout_in_docs_development_md_shows_every_package():
    text = (ROOT / "docs" / "development.md").read_text()
    layout = text[text.index("## Layout"):text.index("\n## ", text.index("## Layout") + 1)]
    assert [name for name in packages() if f"`{name}/`" not in layout] == []


# The services share code only through service_common/: none imports another service's
# package, nor what is development only.
SERVICES = ("listener", "webhook", "opcua_bridge", "actions", "console")
NOT_FOR_SERVICES = ("devstack", "tests", "bench", "scripts")


def imported_packages(path):
    """(line, top-level package) of every absolute import in the file, however nested."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value.split(".")[0]


def foreign_imports(service, root=ROOT):
    forbidden = (set(SERVICES) - {service}) | set(NOT_FOR_SERVICES)
    return [f"{path.relative_to(root)}:{line}: imports {package}"
            for path in sorted((root / service).rglob("*.py"))
            for line, package in imported_packages(path) if package in forbidden]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_and_no_devstack(service):
    assert foreign_imports(service) == []


def test_the_import_check_sees_nested_imports(tmp_path):
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "x.py").write_text(
        "import os\n\ndef f():\n    from opcua_bridge.session import make_client\n"
        "    import devstack.wait\n    return importlib.import_module('webhook.app')\n")
    assert foreign_imports("console", tmp_path) == ["console/x.py:4: imports opcua_bridge",
                                          "console/x.py:5: imports devstack",
                                          "console/x.py:6: imports webhook"]
