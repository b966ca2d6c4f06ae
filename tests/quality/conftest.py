"""A private copy of the committed Great Expectations project for the tests that run suites."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from acdflow.quality import gx_runner

REPO_ROOT = Path(__file__).resolve().parents[2]
GX_DIR = REPO_ROOT / "include" / "great_expectations"


def copy_committed_project(target: Path) -> Path:
    """Copy ``great_expectations/`` without runtime output (what a clone holds besides .gitkeep)."""
    root = target / "great_expectations"
    shutil.copytree(GX_DIR, root, ignore=lambda d, names: names if Path(d).name == "uncommitted" else [])
    return root


@pytest.fixture(scope="session")
def gx_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The committed project, copied once per session so runs never write into the repository."""
    root = copy_committed_project(tmp_path_factory.mktemp("gx"))
    yield root
    gx_runner.reset_cache()
