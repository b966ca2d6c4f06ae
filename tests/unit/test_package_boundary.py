"""The product package ``acdflow`` stands alone: no module of it imports the development package
``acdflow_dev`` (simulator, embedded PostgreSQL, demo), and its declared dependencies name none of
the development tools. Checked twice: statically over every ``.py`` file's imports, and by importing
every module in a fresh interpreter whose import system refuses ``acdflow_dev``."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "plugins" / "acdflow"
DEV_PACKAGE = "acdflow_dev"
# Development-only distributions: never a dependency of the product.
DEV_DISTRIBUTIONS = ("pgserver", "matplotlib", "selenium", "pytest", "hypothesis", "aiosmtpd", "acdflow-dev")
REPORT = "ACDFLOW-BOUNDARY-REPORT "


def _is_dev(module: str) -> bool:
    return module == DEV_PACKAGE or module.startswith(DEV_PACKAGE + ".")


def _python_files() -> list[Path]:
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert PACKAGE / "__init__.py" in files
    assert PACKAGE / "factory.py" in files
    return files


def _dev_imports(path: Path) -> list[str]:
    """Every import of ``acdflow_dev`` in one file: statements anywhere (also inside functions and
    ``TYPE_CHECKING`` blocks) and ``importlib.import_module``/``__import__`` with a literal name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"import_module", "__import__", "find_spec"} and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"line {node.lineno}: {name}" for name in names if _is_dev(name)]
    return found


def test_no_module_of_acdflow_imports_acdflow_dev_statically() -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): hits for path in _python_files() if (hits := _dev_imports(path))
    }
    assert offenders == {}, f"acdflow must not import {DEV_PACKAGE}: {offenders}"


def test_the_static_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        textwrap.dedent(
            """
            import acdflow_dev
            import acdflow_dev.sim as sim
            from acdflow_dev.embedded import EmbeddedPostgres
            from acdflow_dev import compare
            import acdflow_devious  # a different name
            def later():
                import importlib
                return importlib.import_module("acdflow_dev.local")
            """
        )
    )
    hits = [h.split(": ", 1)[1] for h in _dev_imports(sample)]
    assert hits == [
        "acdflow_dev",
        "acdflow_dev.sim",
        "acdflow_dev.embedded",
        "acdflow_dev.embedded.EmbeddedPostgres",
        "acdflow_dev",
        "acdflow_dev.compare",
        "acdflow_dev.local",
    ]


IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys, traceback

REPORT = {report!r}
already = sorted(m for m in sys.modules if m == "acdflow_dev" or m.startswith("acdflow_dev."))
attempts = []
current = [None]

class RefuseDevPackage:
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "acdflow_dev" or fullname.startswith("acdflow_dev."):
            attempts.append({{"module": current[0], "imported": fullname,
                              "stack": traceback.format_stack(limit=12)[:-1]}})
            raise ImportError(f"{{fullname}} is development code; the product must not import it")
        return None

sys.meta_path.insert(0, RefuseDevPackage())

import acdflow

errors = {{}}
modules = ["acdflow"]

def onerror(name):
    errors[name] = traceback.format_exc(limit=6)

for info in pkgutil.walk_packages(acdflow.__path__, "acdflow.", onerror=onerror):
    modules.append(info.name)
for name in modules:
    current[0] = name
    try:
        importlib.import_module(name)
    except Exception:
        errors[name] = traceback.format_exc(limit=6)
print(REPORT + json.dumps({{
    "package": acdflow.__path__[0],
    "already": already,
    "modules": modules,
    "attempts": attempts,
    "errors": errors,
}}))
"""


@pytest.fixture(scope="module")
def import_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Import every module of acdflow (walked with pkgutil) in a fresh interpreter that refuses
    ``acdflow_dev``; ``acdflow_dev`` itself is installed there, so only the hook keeps it out."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE.format(report=REPORT)],
        cwd=tmp_path_factory.mktemp("boundary"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line[len(REPORT) :] for line in result.stdout.splitlines() if line.startswith(REPORT)]
    output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, output
    assert lines, output
    report: dict[str, object] = json.loads(lines[-1])
    return report


def test_importing_every_module_of_acdflow_never_imports_acdflow_dev(
    import_report: dict[str, object],
) -> None:
    assert Path(str(import_report["package"])).resolve() == PACKAGE.resolve()
    assert import_report["already"] == [], "acdflow_dev was imported at interpreter start-up"
    attempts = import_report["attempts"]
    assert attempts == [], "acdflow imports acdflow_dev:\n" + "\n".join(
        f"{a['module']} -> {a['imported']}\n{''.join(a['stack'])}"
        for a in attempts  # type: ignore[attr-defined]
    )
    assert import_report["errors"] == {}, "modules of acdflow failed to import"


def test_every_python_file_of_acdflow_was_imported(import_report: dict[str, object]) -> None:
    expected = {
        ".".join(("acdflow", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for p in _python_files()
    }
    modules = set(import_report["modules"])  # type: ignore[call-overload]
    assert expected <= modules, f"not walked: {sorted(expected - modules)}"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    assert match, f"unreadable requirement {line!r}"
    return _normalize(match.group(0))


def _is_dev_distribution(name: str) -> bool:
    # pytest plugins (pytest-timeout, ...) count as pytest; matplotlib-inline is not matplotlib.
    return name in map(_normalize, DEV_DISTRIBUTIONS) or name.startswith("pytest-")


def test_project_dependencies_name_no_development_tool() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = [_requirement_name(d) for d in project["dependencies"]]
    assert "apache-airflow" in names
    assert [n for n in names if n and _is_dev_distribution(n)] == []


def test_requirements_txt_names_no_development_tool() -> None:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    names = [n for n in map(_requirement_name, lines) if n]
    assert "apache-airflow" in names
    assert [n for n in names if _is_dev_distribution(n)] == []
    assert "acdflow" not in names  # the project itself is installed from its wheel, not pinned here


@pytest.mark.parametrize(
    ("name", "dev"),
    [
        ("pytest", True),
        ("pytest_timeout", True),
        ("Hypothesis", True),
        ("acdflow_dev", True),
        ("pytest-ish", True),
        ("pytestx", False),
        ("matplotlib-inline", False),
        ("matplotlib", True),
        ("pandas", False),
    ],
)
def test_dev_distribution_names_are_recognised(name: str, dev: bool) -> None:
    assert _is_dev_distribution(_normalize(name)) is dev
