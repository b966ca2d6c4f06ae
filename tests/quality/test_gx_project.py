"""The committed suites folder and the in-memory Great Expectations runs: contents, where the suites
are found, read-only use (nothing written anywhere), quiet runs, lazy imports and clear errors."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from acdflow import resources
from acdflow.quality import (
    CHECK_LIVE_VS_HISTORY,
    CHECK_OFFSET,
    CHECK_SUITES,
    CHECK_WINDOW,
    DriftCheckResult,
    gx_runner,
    run_drift_checks,
)
from tests.quality.conftest import GX_DIR, REPO_ROOT, copy_committed_folder, set_writable, tree_state
from tests.quality.drift_testlib import events_between, live_pairs, utc

S = utc(2026, 1, 15, 18)
A, B = S - timedelta(minutes=30), S + timedelta(minutes=15)
LA = "America/Los_Angeles"
LA_WINTER_OFFSET = -480  # UTC−8 (PST) in January
SUITES = {
    "agent_status_drift_window",
    "agent_status_drift_offset",
    "agent_status_drift_live_vs_history",
}


def _naive_la_run(root: Path | None, **kwargs: Any) -> dict[str, DriftCheckResult]:
    """A naive import for Los Angeles in winter: 8x8 returns the events of 8 hours later."""
    results = run_drift_checks(
        integration="lax",
        interval_start=S,
        interval_end=S + timedelta(minutes=15),
        requested_start=A,
        requested_end=B,
        tenant_timezone=LA,
        events=events_between(A + timedelta(hours=8), B + timedelta(hours=8), LA),
        live_pairs=live_pairs(S, shift=timedelta(0)),
        context_root=root,
        **kwargs,
    )
    return {r.check: r for r in results}


def _assert_naive_la_verdicts(got: dict[str, DriftCheckResult]) -> None:
    assert [(c, r.passed) for c, r in got.items()] == [
        (CHECK_WINDOW, False),
        (CHECK_OFFSET, True),
        (CHECK_LIVE_VS_HISTORY, True),
    ]
    assert got[CHECK_WINDOW].observed_offset_minutes == LA_WINTER_OFFSET
    assert got[CHECK_WINDOW].details["shift_minutes"] == 8 * 60


def _pairs_frame() -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    return pd.DataFrame({"half_hour_shift_minutes": pd.array([0, 0, None], dtype="Int64")})


def test_the_committed_folder_holds_the_suites_and_nothing_of_runtime() -> None:
    on_disk = sorted(p.relative_to(GX_DIR).as_posix() for p in GX_DIR.rglob("*") if p.is_file())
    assert on_disk == ["README.md", *sorted(f"expectations/{s}.json" for s in SUITES)], (
        "only the suites belong here; uncommitted/ is output of the old file context: delete it"
    )
    suites = {p.stem: json.loads(p.read_text()) for p in (GX_DIR / "expectations").glob("*.json")}
    assert {n: s["name"] for n, s in suites.items()} == {n: n for n in SUITES}
    assert set(CHECK_SUITES.values()) == SUITES
    window = suites["agent_status_drift_window"]["expectations"]
    assert window == [
        {
            "id": window[0]["id"],
            "kwargs": {
                "column": "seconds_outside_window",
                "max_value": {"$PARAMETER": "window_tolerance_seconds"},
                "min_value": 0.0,
            },
            "meta": {},
            "notes": window[0]["notes"],
            "severity": "critical",
            "type": "expect_column_values_to_be_between",
        }
    ]
    assert [x["type"] for x in suites["agent_status_drift_offset"]["expectations"]] == [
        "expect_column_pair_values_to_be_equal"
    ]
    assert [
        (x["type"], x["kwargs"]) for x in suites["agent_status_drift_live_vs_history"]["expectations"]
    ] == [
        (
            "expect_column_values_to_be_in_set",
            {"column": "half_hour_shift_minutes", "mostly": 0.5, "value_set": [0]},
        )
    ]
    # Nothing in the repository still ignores runtime output of the old file context.
    for ignore_file in (".gitignore", ".dockerignore"):
        assert "great_expectations/uncommitted" not in (REPO_ROOT / ignore_file).read_text()


def test_checks_run_from_a_read_only_copy_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As installed: the suites inside a read-only site-packages, found through ACDFLOW_GX_ROOT.
    site = tmp_path / "site-packages" / "acdflow" / "include"
    root = copy_committed_folder(site)
    set_writable(root, False)
    before = tree_state(root)
    # Anywhere else a context could write by default: the current directory, $HOME, the temp dir.
    elsewhere = {name: tmp_path / name for name in ("cwd", "home", "tmp")}
    for folder in elsewhere.values():
        folder.mkdir()
    monkeypatch.chdir(elsewhere["cwd"])
    monkeypatch.setenv("HOME", str(elsewhere["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere["tmp"]))
    monkeypatch.setenv(resources.GX_ROOT_ENV, str(root))
    try:
        got = _naive_la_run(None)
        after = tree_state(root)
    finally:
        set_writable(root, True)

    _assert_naive_la_verdicts(got)
    assert after == before
    assert {name: sorted(p.name for p in f.iterdir()) for name, f in elsewhere.items()} == {
        "cwd": [],
        "home": [],
        "tmp": [],
    }
    for result in got.values():
        assert "data_docs" not in result.details
    window = got[CHECK_WINDOW].details
    assert window["expectations"][0]["unexpected_count"] == window["outside_window"] == window["events"] > 0


def test_the_suites_are_read_from_the_resolved_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy whose window suite tolerates a day: the same naive run then passes the window check,
    # which proves the run used this copy and not the package's.
    root = copy_committed_folder(tmp_path / "custom")
    suite_file = root / "expectations" / "agent_status_drift_window.json"
    suite = json.loads(suite_file.read_text())
    suite["expectations"][0]["kwargs"]["max_value"] = 86_400
    suite_file.write_text(json.dumps(suite))

    monkeypatch.delenv(resources.GX_ROOT_ENV, raising=False)
    assert not _naive_la_run(None)[CHECK_WINDOW].passed  # the package's suites
    monkeypatch.setenv(resources.GX_ROOT_ENV, str(root))
    relaxed = _naive_la_run(None)[CHECK_WINDOW]
    assert relaxed.passed
    assert relaxed.details["expectations"][0]["max_value"] == 86_400
    # The same copy as an Astro project's $AIRFLOW_HOME/include/great_expectations.
    monkeypatch.delenv(resources.GX_ROOT_ENV)
    home = tmp_path / "airflow"
    (home / "include").mkdir(parents=True)
    root.rename(home / "include" / "great_expectations")
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    assert _naive_la_run(None)[CHECK_WINDOW].passed
    # An explicit context_root still wins over both.
    assert not _naive_la_run(GX_DIR)[CHECK_WINDOW].passed


def test_the_folder_is_resolved_env_then_airflow_home_then_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "airflow"
    in_home = home / "include" / "great_expectations"
    explicit = tmp_path / "explicit"
    package_copy = resources.PACKAGE_INCLUDE / "great_expectations"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))

    # 1. the environment variable, whether or not anything else exists
    monkeypatch.setenv(resources.GX_ROOT_ENV, str(explicit))
    in_home.mkdir(parents=True)
    assert resources.gx_root() == explicit
    # 2. $AIRFLOW_HOME/include/great_expectations, when it exists
    monkeypatch.delenv(resources.GX_ROOT_ENV)
    assert resources.gx_root() == in_home
    # 3. the copy inside the package: without that folder, and without AIRFLOW_HOME
    in_home.rmdir()
    assert resources.gx_root() == package_copy
    monkeypatch.delenv("AIRFLOW_HOME")
    assert resources.gx_root() == package_copy
    # The package copy is the repository's folder (plugins/acdflow/include links to include/).
    assert package_copy.resolve() == GX_DIR.resolve()
    assert set(gx_runner.suite_definitions()) == SUITES
    # An empty variable counts as unset.
    monkeypatch.setenv(resources.GX_ROOT_ENV, "")
    assert resources.gx_root() == package_copy


def test_runs_are_quiet(
    gx_root: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    _assert_naive_la_verdicts(_naive_la_run(gx_root))
    noisy = [
        r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING
    ]
    assert noisy == []
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err  # no tqdm progress bars


def test_build_docs_is_accepted_and_changes_nothing(gx_root: Path) -> None:
    default = _naive_la_run(gx_root)
    for build_docs in (True, False):
        again = _naive_la_run(gx_root, build_docs=build_docs)
        assert [(r.passed, r.observed_offset_minutes, r.details) for r in again.values()] == [
            (r.passed, r.observed_offset_minutes, r.details) for r in default.values()
        ]


def test_a_folder_without_suites_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no expectation suites .* in .*nothing"):
        _naive_la_run(tmp_path / "nothing")
    assert list(tmp_path.iterdir()) == []  # nothing scaffolded


def test_a_suite_whose_name_differs_from_its_file_is_refused(tmp_path: Path) -> None:
    root = copy_committed_folder(tmp_path)
    (root / "expectations" / "agent_status_drift_window.json").rename(root / "expectations" / "renamed.json")
    with pytest.raises(ValueError, match="renamed"):
        gx_runner.suite_definitions(root)


def test_unknown_suite_is_a_clear_error(gx_root: Path) -> None:
    with pytest.raises(KeyError, match="no_such_suite"):
        gx_runner.validate(_pairs_frame(), ["no_such_suite"], asset="live_history_pairs", root=gx_root)


def test_a_frame_the_suite_cannot_read_fails_loudly(gx_root: Path) -> None:
    import pandas as pd

    # A bug in acdflow (the column is missing), not drift: it must not pass or fail silently.
    raised = r"expect_column_values_to_be_between .* raised: .*\"seconds_outside_window\" .* does not exist"
    with pytest.raises(RuntimeError, match=raised):
        gx_runner.validate(
            pd.DataFrame({"other": [1.0]}),
            ["agent_status_drift_window"],
            asset="agent_status_events",
            parameters={"window_tolerance_seconds": 60},
            root=gx_root,
        )


def test_validate_reports_each_suite(gx_root: Path) -> None:
    got = gx_runner.validate(_pairs_frame(), ["agent_status_drift_live_vs_history"], asset="x", root=gx_root)
    outcome = got["agent_status_drift_live_vs_history"]
    assert outcome.success is True
    # Two of two classified pairs agree; the unclassified one counts as missing, not unexpected.
    assert outcome.expectations == [
        {
            "expectation": "expect_column_values_to_be_in_set",
            "success": True,
            "column": "half_hour_shift_minutes",
            "value_set": [0],
            "mostly": 0.5,
            "element_count": 3,
            "unexpected_count": 0,
            "missing_count": 1,
            "unexpected_percent": 0.0,
            "partial_unexpected_list": [],
        }
    ]


def test_importing_acdflow_does_not_import_gx_pandas_or_psycopg() -> None:
    code = (
        "import sys, acdflow.quality, acdflow.quality.gx_runner, acdflow.quality.drift, acdflow.cli;"
        "acdflow.cli.build_parser();"
        "print(sorted(m for m in ('great_expectations', 'pandas', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
