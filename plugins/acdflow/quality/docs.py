"""A static HTML report of the data-quality checks, built on demand from ``<schema>.dq_results``.

``acdflow dq docs`` (:mod:`acdflow.quality.cli`) writes one self-contained ``index.html``: the
declared checks (read from the committed expectation suites), a pass/fail count per integration
and check over the last N days, and the failed intervals with what each check found.

Why not Great Expectations' own Data Docs: GX renders them from its full validation-result objects,
read from a validation-results store. The check tasks run in an in-memory context and keep no such
store; what they record is the ``dq_results`` row (verdict, observed offset and a summary of each
expectation's result), and that table is the record. Rebuilding GX result objects from those
summaries would present reconstructed data as GX output, so this report shows the rows as they
are.

The output folder is configured once: ``--out``, else ``$ACDFLOW_DQ_DOCS_DIR``, else
``.acdflow/dq-docs`` under the current directory. To publish the report, point that folder at a
mounted bucket (s3fs, gcsfuse, blobfuse) or sync it after each build
(``aws s3 sync DIR s3://bucket/dq``); the file is replaced atomically, so readers never see half
of it.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acdflow.quality.drift import CHECK_SUITES
from acdflow.warehouse.sql import render

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_DOCS_DIR",
    "DOCS_DIR_ENV",
    "MAX_FAILURES",
    "CheckSummary",
    "FailedCheck",
    "build_docs",
    "docs_dir",
    "read_results",
    "render_report",
]

DOCS_DIR_ENV = "ACDFLOW_DQ_DOCS_DIR"
DEFAULT_DOCS_DIR = Path(".acdflow") / "dq-docs"
DEFAULT_DAYS = 7
MAX_FAILURES = 500
INDEX = "index.html"


@dataclass(frozen=True, slots=True)
class CheckSummary:
    integration: str
    check: str
    intervals: int
    failed: int
    first_interval: datetime
    last_interval: datetime
    last_failure: datetime | None
    last_checked: datetime


@dataclass(frozen=True, slots=True)
class FailedCheck:
    integration: str
    interval_start: datetime
    interval_end: datetime
    check: str
    observed_offset_minutes: int | None
    details: dict[str, Any]
    checked_at: datetime


def docs_dir() -> Path:
    """Where ``acdflow dq docs`` writes by default: ``$ACDFLOW_DQ_DOCS_DIR``, else ``.acdflow/dq-docs``."""
    configured = os.environ.get(DOCS_DIR_ENV)
    return Path(configured) if configured else DEFAULT_DOCS_DIR


def read_results(
    conn: Any, schema: str, since: datetime, *, limit: int = MAX_FAILURES
) -> tuple[list[CheckSummary], list[FailedCheck]]:
    """Per (integration, check) counts of intervals from ``since`` on, and the newest ``limit`` failures."""
    summary_sql = render("quality/dq_docs.summary.sql", schema)
    failures_sql = render("quality/dq_docs.failures.sql", schema)
    params = {"since": since, "limit": limit}
    with conn.cursor() as cur:
        summaries = [CheckSummary(*row) for row in cur.execute(summary_sql, params)]
        failures = [FailedCheck(*row) for row in cur.execute(failures_sql, params)]
    return summaries, failures


# ---- rendering ---------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.failed td { background: #fdecea; }
code, pre { font-size: 0.85rem; }
pre { margin: 0; white-space: pre-wrap; }
.muted { color: #666; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _t(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _kwargs_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in kwargs.items())


def _checks_section(suites: Mapping[str, Mapping[str, Any]]) -> list[str]:
    out = [
        "<h2>Checks</h2>",
        "<p>Declared by the committed expectation suites; each check passes when every expectation"
        " of its suite does.</p>",
        "<table><tr><th>check</th><th>suite</th><th>expectations</th><th>what it means</th></tr>",
    ]
    for check, suite_name in CHECK_SUITES.items():
        suite = suites.get(suite_name, {})
        expectations = "".join(
            f"<li><code>{_e(x.get('type'))}</code>({_e(_kwargs_text(x.get('kwargs') or {}))})</li>"
            for x in suite.get("expectations", [])
        )
        out.append(
            f"<tr id='check-{_e(check)}'><td><b>{_e(check)}</b></td><td><code>{_e(suite_name)}</code></td>"
            f"<td><ul>{expectations}</ul></td><td>{_e(suite.get('notes', ''))}</td></tr>"
        )
    out.append("</table>")
    return out


def _summary_section(summaries: Sequence[CheckSummary]) -> list[str]:
    out = ["<h2>Results by integration</h2>"]
    if not summaries:
        return [*out, "<p>No results in this range.</p>"]
    out.append(
        "<table><tr><th>integration</th><th>check</th><th>intervals</th><th>passed</th><th>failed</th>"
        "<th>intervals from</th><th>to</th><th>last failure</th><th>last checked</th></tr>"
    )
    for s in summaries:
        out.append(
            f"<tr class='{'failed' if s.failed else 'passed'}'><td>{_e(s.integration)}</td>"
            f"<td>{_e(s.check)}</td><td>{s.intervals}</td><td>{s.intervals - s.failed}</td>"
            f"<td>{s.failed}</td><td>{_t(s.first_interval)}</td><td>{_t(s.last_interval)}</td>"
            f"<td>{_t(s.last_failure)}</td><td>{_t(s.last_checked)}</td></tr>"
        )
    out.append("</table>")
    return out


def _expectation_text(summary: Mapping[str, Any]) -> str:
    counts = ""
    if "unexpected_count" in summary and "element_count" in summary:
        counts = f": {summary['unexpected_count']} of {summary['element_count']} unexpected"
    verdict = "passed" if summary.get("success") else "failed"
    return f"{summary.get('expectation')} {verdict}{counts}"


def _failures_section(failures: Sequence[FailedCheck], total: int) -> list[str]:
    out = ["<h2>Failed checks, newest first</h2>"]
    if not failures:
        return [*out, "<p>None in this range.</p>"]
    if total > len(failures):
        out.append(
            f"<p class='muted'>The newest {len(failures)} of {total}; query dq_results for the rest.</p>"
        )
    out.append(
        "<table><tr><th>interval</th><th>integration</th><th>check</th><th>observed offset (min)</th>"
        "<th>finding</th><th>expectations</th><th>details</th></tr>"
    )
    for f in failures:
        expectations = "".join(
            f"<li>{_e(_expectation_text(x))}</li>" for x in f.details.get("expectations") or []
        )
        offset = "" if f.observed_offset_minutes is None else f"{f.observed_offset_minutes:+d}"
        out.append(
            f"<tr class='failed'><td>{_t(f.interval_start)} – {_t(f.interval_end)}</td>"
            f"<td>{_e(f.integration)}</td><td><a href='#check-{_e(f.check)}'>{_e(f.check)}</a></td>"
            f"<td>{_e(offset)}</td><td>{_e(f.details.get('summary', ''))}</td>"
            f"<td><ul>{expectations}</ul></td>"
            f"<td><details><summary>JSON</summary><pre>{_e(json.dumps(f.details, indent=1))}</pre>"
            f"</details></td></tr>"
        )
    out.append("</table>")
    return out


def render_report(
    summaries: Sequence[CheckSummary],
    failures: Sequence[FailedCheck],
    *,
    suites: Mapping[str, Mapping[str, Any]],
    schema: str,
    since: datetime,
    generated_at: datetime,
) -> str:
    """The whole report as one HTML page."""
    total_failed = sum(s.failed for s in summaries)
    total = sum(s.intervals for s in summaries)
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<title>acdflow data quality: time drift</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>acdflow data quality: time drift</h1>",
        f"<p>{total} check results, {total_failed} failed, for intervals from {_t(since)} on; "
        f"read from <code>{_e(schema)}.dq_results</code> (the record) at {_t(generated_at)}.</p>",
        *_checks_section(suites),
        *_summary_section(summaries),
        *_failures_section(failures, total_failed),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def build_docs(
    conn: Any,
    schema: str,
    out: Path,
    *,
    days: int = DEFAULT_DAYS,
    gx_root: Path | None = None,
    now: datetime | None = None,
) -> tuple[Path, list[CheckSummary]]:
    """Write ``<out>/index.html`` for the intervals of the last ``days`` days; returns its path and counts."""
    from acdflow.quality.gx_runner import suite_definitions

    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    generated_at = (now or datetime.now(UTC)).astimezone(UTC)
    since = generated_at - timedelta(days=days)
    summaries, failures = read_results(conn, schema, since)
    page = render_report(
        summaries,
        failures,
        suites=suite_definitions(gx_root),
        schema=schema,
        since=since,
        generated_at=generated_at,
    )
    out.mkdir(parents=True, exist_ok=True)
    target = out / INDEX
    partial = out / f".{INDEX}.{os.getpid()}.tmp"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target, summaries
