"""Steps shared by every DAG that reads an 8x8 detailed report: authenticate, trigger the report
for a UTC window, wait until its data is readable, and land its pages in the warehouse.

``pipeline/<kind>.py`` re-exports the shared steps, so each task id is found in its kind's module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from acdflow.config import IntegrationSpec
from acdflow.pipeline import HISTORY_KIND
from acdflow.pipeline.steps import Step
from acdflow.runtime import RunInfo
from acdflow.warehouse import store
from acdflow.warehouse.store import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")


def _api_stats(client: Any) -> dict[str, Any]:
    """The client's request accounting for ``load_runs``: how many requests this task sent, how
    many of them were retries and how many were answered 429."""
    return {
        "api_requests": client.stats.requests_sent,
        "api_retries": client.stats.retries,
        "rate_limited": client.stats.rate_limited,
    }


def is_settle_run(spec: IntegrationSpec, interval_start: datetime) -> bool:
    """The run of the ``settle_hour_utc``:00 interval re-reads ``settle_lookback_hours``."""
    return (
        spec.settle_lookback_hours > 0
        and interval_start.hour == spec.settle_hour_utc
        and interval_start.minute == 0
    )


# Run types whose runs may read final data once: the scheduler's own runs (on time, caught up or
# cleared) and backfills. A manual run always reads its look-back: it is how one re-imports an
# interval whose data is in doubt, and reading more is never wrong.
FINAL_READ_RUN_TYPES = frozenset({"scheduled", "backfill"})


def reads_final_data(run: RunInfo, spec: IntegrationSpec, *, minutes: int, now: datetime) -> bool:
    """Whether the run's data is final: a scheduled or backfill run whose interval ended before
    the settle horizon. Its look-back would only bring rows that the runs of the earlier intervals
    read (or will read) once 8x8 no longer changes them, so it reads its own interval (and
    ``final_minutes`` before it, see :func:`read_window`): clearing a range of final data reads
    each record once, or twice near interval edges, instead of once per look-back interval."""
    return run.run_type in FINAL_READ_RUN_TYPES and run.interval_end <= spec.settle_horizon(
        minutes=minutes, now=now
    )


class ReadWindow(NamedTuple):
    start: datetime
    end: datetime
    final: bool  # the run's data is final: it reads only its own interval


def is_history_run(run: RunInfo, spec: IntegrationSpec) -> bool:
    """A run of the integration's ``<name>__history`` DAG: a whole UTC day, final by construction
    (the DAG ends at the settle horizon, :meth:`IntegrationSpec.history_end`)."""
    return run.dag_id == spec.dag_id(HISTORY_KIND)


def read_window(
    run: RunInfo, *, minutes: int, spec: IntegrationSpec, now: datetime, final_minutes: int = 0
) -> ReadWindow:
    """The UTC window a report run reads: its interval plus ``minutes`` before it, or the settle
    look-back if that is longer and this is the daily settle run; its interval plus
    ``final_minutes`` (at most ``minutes``) when its data is final (:func:`reads_final_data`;
    ``now`` is the warehouse's clock). A history run reads its day the same way, whatever its run
    type: its DAG holds final days only, and a manual run of a recent day is repaired by the
    15-minute DAGs' look-back like any other import."""
    if is_history_run(run, spec) or reads_final_data(run, spec, minutes=minutes, now=now):
        margin = timedelta(minutes=min(final_minutes, minutes))
        return ReadWindow(run.interval_start - margin, run.interval_end, final=True)
    lookback = timedelta(minutes=minutes)
    if is_settle_run(spec, run.interval_start):
        lookback = max(lookback, timedelta(hours=spec.settle_lookback_hours))
    return ReadWindow(run.interval_start - lookback, run.interval_end, final=False)


def warehouse_now(step: Step) -> datetime:
    """The warehouse's clock, which every worker shares."""
    with step.connect() as conn:
        return store.database_now(conn, step.warehouse.schema)


def authenticate(step: Step) -> dict[str, Any]:
    client = step.client()
    client.authenticate()
    log.info("8x8 credentials of integration %s accepted", step.spec.name)
    return {"authenticated": True, **_api_stats(client)}


def trigger_report(
    step: Step,
    *,
    report_type: str,
    metrics: Sequence[str],
    window: ReadWindow,
    now: datetime,
    include_participants: bool = False,
) -> dict[str, Any]:
    """Create a detailed report for records of the UTC window ``window``; ``now`` is the warehouse
    clock the window was chosen by, read just before, and is recorded as the report's creation time.

    The request carries tenant-local wall-clock digits (8x8 reads them that way)
    unless the integration reproduces the naive import. The returned request is everything needed
    to create the same report again."""
    from acdflow.timewindow import request_window

    client = step.client()
    sent = request_window(
        window.start, window.end, client.settings.timezone, correct_quirk=step.spec.correct_time_quirk
    )
    request = {
        "report_type": report_type,
        "metrics": list(metrics),
        "include_participants": include_participants,
        "request_start": sent.start,
        "request_end": sent.end,
        "timezone": sent.timezone,
    }
    report_id, created_at = _create(step, client, request, created_at=now)
    log.info(
        "created 8x8 report %s (%s) for %s .. %s UTC%s: sent %s .. %s in %s",
        report_id,
        report_type,
        window.start.isoformat(),
        window.end.isoformat(),
        " (final data: the run's own interval only)" if window.final else "",
        sent.start,
        sent.end,
        sent.timezone,
    )
    return {
        "report_id": report_id,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "final_data": window.final,
        "report_created_at": created_at.isoformat(),
        **request,
        **_api_stats(client),
    }


def _create(
    step: Step, client: Any, request: dict[str, Any], *, created_at: datetime | None = None
) -> tuple[int, datetime]:
    """Create the report; returns its id and its creation time on the warehouse clock, taken just
    before the request (the report holds 8x8's data as of then or later). Loads compare these times
    so that an older report never overwrites rows written from a newer one, and the warehouse
    clock is the one clock every worker shares. ``created_at``: that clock, already read."""
    if created_at is None:
        with step.connect() as conn:
            created_at = store.database_now(conn, step.warehouse.schema)
    report_id: int = client.create_detailed_report(
        request["report_type"],
        start=request["request_start"],
        end=request["request_end"],
        timezone=request["timezone"],
        metrics=request["metrics"],
        include_participants=request["include_participants"],
    )
    return report_id, created_at


def wait_for_report(step: Step) -> dict[str, Any]:
    """Detailed reports are created DONE, but their data can briefly answer 404: read one row
    first, and if the report stays unknown create it once more."""
    from acdflow.eightbyeight.errors import ReportNotFoundError

    triggered = step.upstream("trigger_report")
    client = step.client()
    report_id = int(triggered["report_id"])
    created_at = str(triggered["report_created_at"])
    recreated = False
    try:
        first = next(iter(client.iter_detailed_pages(report_id, page_size=1)), None)
    except ReportNotFoundError:
        log.warning("8x8 report %s stayed unknown after creation; creating it once more", report_id)
        report_id, created = _create(step, client, triggered)
        created_at = created.isoformat()
        recreated = True
        first = next(iter(client.iter_detailed_pages(report_id, page_size=1)), None)
    return {
        "report_id": report_id,
        "recreated": recreated,
        "report_created_at": created_at,
        "total_elements": first.total_elements if first is not None else 0,
        **_api_stats(client),
    }


def extract(step: Step) -> dict[str, Any]:
    """Page through the report into ``raw_report_pages``, each page committed on its own: no
    transaction stays open across 8x8's paging and backoff (see :func:`store.land_pages`)."""
    report_kind = str(step.upstream("trigger_report")["report_type"])
    report_id = int(step.upstream("wait_for_report")["report_id"])
    client = step.client()
    with step.connect() as conn:
        landed = store.land_pages(
            conn,
            step.warehouse.schema,
            integration=step.spec.name,
            report_kind=report_kind,
            report_id=report_id,
            pages=(store.LandingPage(page.rows, page.text) for page in client.iter_detailed_pages(report_id)),
        )
    log.info("landed %s rows in %s pages of report %s", landed.rows, landed.pages, report_id)
    return {
        "report_id": report_id,
        "pages": landed.pages,
        "rows_fetched": landed.rows,
        **_api_stats(client),
    }


@dataclass(frozen=True, slots=True)
class LandedReport:
    """A report's landed rows, read inside a warehouse session by ``transform``."""

    conn: Connection
    report_id: int
    fetched: int
    rows: Iterator[Any]


@contextmanager
def landed_report(step: Step) -> Iterator[LandedReport]:
    """The rows ``extract`` landed for this run's report, streamed page by page."""
    extracted = step.upstream("extract")
    report_id = int(extracted["report_id"])
    schema, integration = step.warehouse.schema, step.spec.name
    with step.connect() as conn:
        fetched = store.landed_row_count(conn, schema, integration=integration, report_id=report_id)
        if fetched != int(extracted["rows_fetched"]):
            raise store.TransientRowsLostError(
                f"report {report_id}: extract landed {extracted['rows_fetched']} rows, the warehouse"
                f" holds {fetched} (landing is not crash-safe: a database restart or failover empties"
                " it); clear extract to read the report again"
            )
        yield LandedReport(
            conn,
            report_id,
            fetched,
            store.iter_landed_rows(conn, schema, integration=integration, report_id=report_id),
        )


def account_for_rows(
    landed: LandedReport, *, accounted: int, rejected_reasons: Sequence[str], **counts: Any
) -> dict[str, Any]:
    """Every fetched row must be staged, quarantined, filtered by a product rule or a duplicate:
    fail the transform if any went missing, log why rows were quarantined, return the summary."""
    summary = {
        "report_id": landed.report_id,
        "rows_fetched": landed.fetched,
        "rows_rejected": len(rejected_reasons),
        **counts,
    }
    if accounted != landed.fetched:
        raise RuntimeError(f"transform accounted for {accounted} of {landed.fetched} fetched rows: {summary}")
    for reason in sorted(set(rejected_reasons))[:20]:
        log.warning("quarantined rows of report %s: %s", landed.report_id, reason)
    log.info("transformed report %s: %s", landed.report_id, summary)
    return summary


def _created_at(value: Any) -> datetime | None:
    # None for a run whose upstream tasks ran before creation times were recorded: the load then
    # counts as created now.
    return datetime.fromisoformat(str(value)) if value else None


def publish_report(step: Step, publish: Callable[..., T], *, staged_key: str) -> tuple[int, T]:
    """Run ``publish`` (a warehouse publish function) for the report ``transform`` staged: it
    checks that all ``transform``'s ``staged_key`` rows are still staged, and compares the report's
    creation time with the rows it would overwrite."""
    transformed = step.upstream("transform")
    triggered = step.upstream("trigger_report")
    waited = step.upstream("wait_for_report")
    report_id = int(transformed["report_id"])
    with step.connect() as conn:
        result = publish(
            conn,
            step.warehouse.schema,
            integration=step.spec.name,
            report_id=report_id,
            interval_start=step.run.interval_start,
            report_created_at=_created_at(
                waited.get("report_created_at") or triggered.get("report_created_at")
            ),
            window=(
                datetime.fromisoformat(str(triggered["window_start"])),
                datetime.fromisoformat(str(triggered["window_end"])),
            ),
            expected_staged=int(transformed[staged_key]),
        )
    return report_id, result
