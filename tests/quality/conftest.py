"""The committed expectation suites, as the tests that run them see them: a read-only copy."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GX_DIR = REPO_ROOT / "include" / "great_expectations"


def copy_committed_folder(target: Path) -> Path:
    """Copy ``include/great_expectations/`` to ``target/great_expectations`` (writable)."""
    root = target / "great_expectations"
    shutil.copytree(GX_DIR, root)
    return root


def set_writable(root: Path, writable: bool) -> None:
    """``chmod -R a-w`` (or ``u+w`` back) over ``root``, like a package in a read-only site-packages."""
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / f for f in files)]:
            mode = path.stat().st_mode
            path.chmod((mode | stat.S_IWUSR) if writable else (mode & ~write))


def tree_state(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with its size, mtime and mode: any write shows up as a difference."""
    state = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        state[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return state


@pytest.fixture(scope="session")
def gx_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A read-only copy of the committed folder; the session fails if any check run wrote to it."""
    root = copy_committed_folder(tmp_path_factory.mktemp("gx"))
    set_writable(root, False)
    before = tree_state(root)
    yield root
    after = tree_state(root)
    set_writable(root, True)  # so pytest can remove it
    assert after == before, "a check run wrote into the suites folder"
