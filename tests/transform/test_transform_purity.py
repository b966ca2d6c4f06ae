"""The transforms stay pure and independent of the simulator (its ground truth must stay separate)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FILES = [
    *sorted((ROOT / "plugins/acdflow/transform").glob("*.py")),
    ROOT / "plugins/acdflow/timewindow.py",
]
TEST_FILES = sorted(Path(__file__).parent.glob("*.py"))
# I/O, orchestration and the simulator have no business in a pure transform; pandas is kept out of
# the hot path for speed (and its datetime-unit traps, engineering notes).
FORBIDDEN_IN_PACKAGE = ("acdflow_dev.sim", "acdflow.eightbyeight", "acdflow.warehouse", "airflow", "pandas",
                        "psycopg", "requests", "great_expectations")  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def hits(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported_modules(path) for f in forbidden if m == f or m.startswith(f + "."))


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: p.name)
def test_package_imports_nothing_impure(path: Path) -> None:
    assert hits(path, FORBIDDEN_IN_PACKAGE) == []


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_tests_do_not_use_the_simulator(path: Path) -> None:
    assert hits(path, ("acdflow_dev.sim",)) == []
