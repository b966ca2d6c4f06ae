"""The committed Great Expectations project: contents, a fresh clone, Data Docs, quiet logs, pruning."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from acdflow.quality import CHECK_LIVE_VS_HISTORY, CHECK_WINDOW, DriftCheckResult, gx_runner, run_drift_checks
from tests.quality.conftest import GX_DIR, REPO_ROOT, copy_committed_project
from tests.quality.drift_testlib import events_between, live_pairs, utc

S = utc(2026, 1, 15, 18)
A, B = S - timedelta(minutes=30), S + timedelta(minutes=15)
LA = "America/Los_Angeles"
SUITES = {
    "agent_status_drift_window",
    "agent_status_drift_offset",
    "agent_status_drift_live_vs_history",
}


def _git(cwd: Path, *args: str) -> str:
    git = shutil.which("git")
    assert git is not None
    result = subprocess.run(
        [git, "-c", "user.name=acdflow-test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def _naive_la_run(root: Path, *, build_docs: bool, interval_offset: int = 0) -> list[DriftCheckResult]:
    s = S + timedelta(days=interval_offset)
    return run_drift_checks(
        integration="lax",
        interval_start=s,
        interval_end=s + timedelta(minutes=15),
        requested_start=A,
        requested_end=B,
        tenant_timezone=LA,
        events=events_between(A + timedelta(hours=8), B + timedelta(hours=8), LA),
        live_pairs=live_pairs(S, shift=timedelta(0)),
        context_root=root,
        build_docs=build_docs,
    )


def test_suites_and_checkpoints_are_committed_as_data() -> None:
    def load(folder: str) -> dict[str, dict[str, object]]:
        return {p.stem: json.loads(p.read_text()) for p in (GX_DIR / folder).glob("*.json")}

    suites, definitions, checkpoints = (
        load("expectations"),
        load("validation_definitions"),
        load("checkpoints"),
    )
    assert set(suites) == SUITES
    assert set(definitions) == SUITES
    window = suites["agent_status_drift_window"]["expectations"]
    assert window == [
        {
            "id": window[0]["id"],  # type: ignore[index]
            "kwargs": {
                "column": "seconds_outside_window",
                "max_value": {"$PARAMETER": "window_tolerance_seconds"},
                "min_value": 0.0,
            },
            "meta": {},
            "notes": window[0]["notes"],  # type: ignore[index]
            "severity": "critical",
            "type": "expect_column_values_to_be_between",
        }
    ]
    assert checkpoints["agent_status_events_drift"]["validation_definitions"] == [
        {"id": definitions[n]["id"], "name": n}
        for n in ("agent_status_drift_window", "agent_status_drift_offset")
    ]
    for checkpoint in checkpoints.values():
        assert checkpoint["actions"] == [
            {"name": "update_data_docs", "site_names": ["local_site"], "type": "update_data_docs"}
        ]
    # Validation definitions point at suites and batch definitions that exist.
    config = (GX_DIR / "great_expectations.yml").read_text()
    for definition in definitions.values():
        assert definition["suite"]["id"] == suites[definition["name"]]["id"]  # type: ignore[index]
        assert definition["data"]["batch_definition"]["id"] in config  # type: ignore[index]


def test_a_fresh_clone_works_without_scaffolding_a_gx_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    # What `git add` takes from the working tree, respecting every .gitignore (GX's own included).
    listed = _git(
        REPO_ROOT,
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        "include/great_expectations",
    )
    files = [f for f in listed.splitlines() if (REPO_ROOT / f).is_file()]
    assert "include/great_expectations/great_expectations.yml" in files
    assert "great_expectations/uncommitted/.gitkeep" in files
    assert not [
        f for f in files if f.startswith("great_expectations/uncommitted/") and not f.endswith(".gitkeep")
    ]

    origin = tmp_path / "origin"
    for f in [*files, ".gitignore"]:
        (origin / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / f, origin / f)
    _git(origin, "init", "-q")
    _git(origin, "add", "-A")  # no -f: nothing needs force-adding
    _git(origin, "commit", "-q", "-m", "snapshot")
    assert sorted(_git(origin, "ls-files").split()) == sorted([*files, ".gitignore"])
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(origin), str(clone))

    monkeypatch.chdir(clone)  # anything cwd-relative would land here
    results = _naive_la_run(clone / "great_expectations", build_docs=True)
    assert [r.passed for r in results] == [False, True, True]

    assert not (clone / "gx").exists()
    assert not (clone / "great_expectations" / "gx").exists()
    docs = clone / "great_expectations" / "uncommitted" / "data_docs" / "local_site"
    assert (docs / "index.html").is_file()
    for suite in SUITES:
        assert (docs / "expectations" / f"{suite}.html").is_file()
        assert list((docs / "validations" / suite).rglob("*.html"))
    # GX wrote only git-ignored output: the clone's tracked files are untouched.
    assert _git(clone, "status", "--porcelain") == ""
    index = (docs / "index.html").read_text()
    assert "agent_status_drift_window" in index
    assert "lax__20260115T1800Z" in index


def test_data_docs_show_the_failure(gx_root: Path) -> None:
    results = _naive_la_run(gx_root, build_docs=True)
    window = next(r for r in results if r.check == CHECK_WINDOW)
    page_dir = (
        gx_root / "uncommitted" / "data_docs" / "local_site" / "validations" / "agent_status_drift_window"
    )
    pages = list(page_dir.rglob("*.html"))
    assert pages
    assert window.details["data_docs"] == str(
        gx_root.resolve() / "uncommitted" / "data_docs" / "local_site" / "index.html"
    )
    assert any("seconds_outside_window" in p.read_text() for p in pages)


def test_runs_are_quiet(
    gx_root: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    _naive_la_run(gx_root, build_docs=True)
    noisy = [
        r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING
    ]
    assert noisy == []
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err  # no tqdm progress bars


def test_validation_results_are_pruned(tmp_path: Path) -> None:
    root = copy_committed_project(tmp_path)
    for i in range(4):
        gx_runner.run_checkpoint(
            root,
            "agent_status_live_drift",
            _pairs_frame(),
            parameters={},
            run_name=f"prune__{i}",
            build_docs=False,
            keep_results=2,
        )
    kept = list((root / "uncommitted" / "validations" / "agent_status_drift_live_vs_history").rglob("*.json"))
    assert sorted(p.parent.parent.name for p in kept) == ["prune__2", "prune__3"]


def _pairs_frame() -> object:
    import pandas as pd  # type: ignore[import-untyped]

    return pd.DataFrame({"half_hour_shift_minutes": pd.array([0, 0, None], dtype="Int64")})


def test_a_folder_without_the_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"great_expectations\.yml"):
        gx_runner.run_checkpoint(
            tmp_path / "great_expectations",
            "agent_status_live_drift",
            _pairs_frame(),
            parameters={},
            run_name="x",
        )
    assert list(tmp_path.iterdir()) == []  # nothing scaffolded


def test_unknown_checkpoint_is_a_clear_error(gx_root: Path) -> None:
    with pytest.raises(KeyError, match="no_such_checkpoint"):
        gx_runner.run_checkpoint(gx_root, "no_such_checkpoint", _pairs_frame(), parameters={}, run_name="x")


def test_docs_failure_does_not_lose_the_verdict(
    gx_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(UpdateDataDocsAction, "_run", broken)
    results = _naive_la_run(gx_root, build_docs=True, interval_offset=3)
    window = next(r for r in results if r.check == CHECK_WINDOW)
    assert not window.passed
    assert window.observed_offset_minutes == -480
    assert "data_docs" not in window.details
    assert "Data Docs not updated" in caplog.text
    live = next(r for r in results if r.check == CHECK_LIVE_VS_HISTORY)
    assert live.passed


def test_default_context_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gx_runner.GX_ROOT_ENV, raising=False)
    assert gx_runner.default_context_root() == GX_DIR
    monkeypatch.setenv(gx_runner.GX_ROOT_ENV, str(tmp_path / "elsewhere"))
    assert gx_runner.default_context_root() == tmp_path / "elsewhere"
    # Installed as a wheel, acdflow finds the project Astro copied to $AIRFLOW_HOME.
    monkeypatch.delenv(gx_runner.GX_ROOT_ENV)
    monkeypatch.setattr(gx_runner, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    project = copy_committed_project(tmp_path)
    assert gx_runner.default_context_root() == project
