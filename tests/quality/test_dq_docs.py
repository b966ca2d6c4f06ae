"""``acdflow dq docs``: a static report built on demand from the rows in ``dq_results``."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from acdflow.cli import main
from acdflow.quality import CHECK_SUITES, CHECK_WINDOW, DriftCheckResult, run_drift_checks, write_results
from acdflow.quality.docs import DOCS_DIR_ENV, FailedCheck, read_results, render_report
from acdflow.warehouse.migrate import apply_migrations
from tests.quality.drift_testlib import events_between, live_pairs, utc

S = utc(2026, 1, 15, 18)
A, B = S - timedelta(minutes=30), S + timedelta(minutes=15)
LA = "America/Los_Angeles"
CONN_ID = "acdflow_dq_docs_test"
FIFTEEN = timedelta(minutes=15)


def _checks(gx_root: Path, *, naive: bool) -> list[DriftCheckResult]:
    shift = timedelta(hours=8) if naive else timedelta(0)  # Los Angeles in January: UTC−8
    return run_drift_checks(
        integration="any",
        interval_start=S,
        interval_end=S + FIFTEEN,
        requested_start=A,
        requested_end=B,
        tenant_timezone=LA,
        events=events_between(A + shift, B + shift, LA),
        live_pairs=live_pairs(S, shift=timedelta(0)),
        context_root=gx_root,
    )


def _row(*cells: object) -> str:
    return "".join(f"<td>{c}</td>" for c in cells)


def test_dq_docs_reports_the_checks_from_dq_results(
    gx_root: Path,
    warehouse_uri: str,
    fresh_schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    naive, corrected = _checks(gx_root, naive=True), _checks(gx_root, naive=False)
    assert [r.passed for r in naive] == [False, True, True]
    assert all(r.passed for r in corrected)
    now = datetime.now(UTC)
    recent = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) - timedelta(hours=1)
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        apply_migrations(conn, fresh_schema)
        write_results(conn, fresh_schema, "acme", recent, recent + FIFTEEN, naive)
        write_results(conn, fresh_schema, "bravo", recent, recent + FIFTEEN, corrected)
        old = recent - timedelta(days=30)
        write_results(conn, fresh_schema, "oldco", old, old + FIFTEEN, naive)

    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", warehouse_uri)
    out = tmp_path / "docs"
    args = ["dq", "docs", "--out", str(out), "--days", "7", "--schema", fresh_schema, "--conn-id", CONN_ID]
    assert main(args) == 0
    index = out / "index.html"
    assert f"wrote {index} (6 check results of the last 7 days, 1 failed)" in capsys.readouterr().out
    page = index.read_text(encoding="utf-8")

    # The declared checks, by name and suite.
    for check, suite in CHECK_SUITES.items():
        assert f"<tr id='check-{check}'><td><b>{check}</b></td><td><code>{suite}</code></td>" in page
    # Counts per integration and check: intervals, passed, failed.
    assert _row("acme", "window", 1, 0, 1) in page
    assert _row("acme", "offset", 1, 1, 0) in page
    assert _row("bravo", "window", 1, 1, 0) in page
    # The failure, with what the check found.
    window = next(r for r in naive if r.check == CHECK_WINDOW)
    assert "UTC offset -480 min" in window.details["summary"]
    assert html.escape(window.details["summary"]) in page
    assert "<td>-480</td>" in page
    failed_intervals = re.findall(r"<tr class='failed'><td>([^<]*) – ([^<]*)</td><td>([^<]*)</td>", page)
    assert failed_intervals == [(f"{recent:%Y-%m-%d %H:%M}Z", f"{recent + FIFTEEN:%Y-%m-%d %H:%M}Z", "acme")]
    # Outside the range: not reported.
    assert "oldco" not in page

    # Without --out: the folder configured once in the environment; a longer range finds oldco.
    configured = tmp_path / "mounted-bucket"
    monkeypatch.setenv(DOCS_DIR_ENV, str(configured))
    assert main(["dq", "docs", "--days", "60", "--schema", fresh_schema, "--conn-id", CONN_ID]) == 0
    assert "(9 check results of the last 60 days, 2 failed)" in capsys.readouterr().out
    wider = (configured / "index.html").read_text(encoding="utf-8")
    assert _row("oldco", "window", 1, 0, 1) in wider
    assert sorted(p.name for p in configured.iterdir()) == ["index.html"]  # no temporary file left


def test_dq_docs_on_an_empty_table_says_so(
    warehouse_uri: str,
    fresh_schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        apply_migrations(conn, fresh_schema)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", warehouse_uri)
    assert main(["dq", "docs", "--out", str(tmp_path), "--schema", fresh_schema, "--conn-id", CONN_ID]) == 0
    assert "(0 check results of the last 7 days, 0 failed)" in capsys.readouterr().out
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "No results in this range." in page
    assert "id='check-live_vs_history'" in page


def test_dq_docs_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["dq", "docs", "--days", "0"])
    assert exc.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
    # Checked before anything reaches the database.
    with pytest.raises(ValueError, match="invalid warehouse schema name"):
        read_results(None, "Robert'); DROP", utc(2026, 1, 1))


def test_the_report_escapes_what_it_shows() -> None:
    hostile = "<script>alert(1)</script>"
    failure = FailedCheck(
        integration="acme",
        interval_start=S,
        interval_end=S + FIFTEEN,
        check=CHECK_WINDOW,
        observed_offset_minutes=330,
        details={"summary": hostile, "expectations": [{"expectation": hostile, "success": False}]},
        checked_at=S,
    )
    page = render_report([], [failure], suites={}, schema="acd", since=S, generated_at=S)
    assert "<script>" not in page
    assert html.escape(hostile) in page
    assert "<td>+330</td>" in page
