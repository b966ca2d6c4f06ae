"""Historical agent statuses: the steps of ``<name>__agent_status``, one function per task.

A run for the data interval ``[S, E)`` reads the status-change events of ``[S − overlap, E)``: the
overlap re-reads the previous interval's tail, so an event that 8x8 made available late, or a run
that failed, still lands. Every event starts a status that lasts until the same agent's next event
(the report has no durations or end times); the latest status of an agent stays open until a later
run brings the next event. ``check_time_drift`` then validates what came back with Great
Expectations: a UTC/local drift fails the task (unless the integration is set to warn), and the
loaded data stays in place either way.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from acdflow.assets import intervals_between
from acdflow.config import IntegrationSpec
from acdflow.pipeline import AGENT_STATUS_REPORT, TimeDriftError, reports
from acdflow.pipeline.reports import authenticate, extract, wait_for_report
from acdflow.pipeline.steps import Step
from acdflow.runtime import RunInfo
from acdflow.warehouse import agent_status as wh
from acdflow.warehouse import store

__all__ = [
    "authenticate",
    "check_time_drift",
    "extract",
    "load",
    "transform",
    "trigger_report",
    "wait_for_report",
]

log = logging.getLogger(__name__)

REPORT_TYPE = AGENT_STATUS_REPORT
METRICS = ("agentId", "agent", "status", "statusCode", "time")


def fetch_window(spec: IntegrationSpec, run: RunInfo, now: datetime) -> reports.ReadWindow:
    """UTC window a run reads: its interval plus the overlap before it; the daily settle run
    re-reads ``settle_lookback_hours``, so an outage of up to that long heals without a clear.
    Once its data is final, its interval alone."""
    return reports.read_window(run, minutes=spec.status_overlap_minutes, spec=spec, now=now)


def trigger_report(step: Step) -> dict[str, Any]:
    now = reports.warehouse_now(step)
    window = fetch_window(step.spec, step.run, now)
    return reports.trigger_report(step, report_type=REPORT_TYPE, metrics=METRICS, window=window, now=now)


def transform(step: Step) -> dict[str, Any]:
    from acdflow.transform.agent_status import status_name, transform_status_events

    triggered = step.upstream("trigger_report")
    with reports.landed_report(step) as landed:
        batch = transform_status_events(
            landed.rows,
            window_start=datetime.fromisoformat(triggered["window_start"]),
            window_end=datetime.fromisoformat(triggered["window_end"]),
        )
        events, collapsed = wh.collapse_same_instant(
            wh.StagedEvent(
                agent_id=e.agent_id,
                agent_name=e.agent_name,
                status=e.status,
                status_code=e.status_code,
                status_name=status_name(e.status, e.status_code),
                start_time=e.time,
                observed_offset_minutes=e.observed_offset_minutes,
            )
            for e in batch.events
        )
        staged, quarantined = wh.stage_events(
            landed.conn,
            step.warehouse.schema,
            integration=step.spec.name,
            report_id=landed.report_id,
            events=events,
            rejected=(
                store.StagedRejection(x.reason, x.raw, x.agent_id, x.record_time) for x in batch.rejected
            ),
        )
    return reports.account_for_rows(
        landed,
        accounted=len(batch.events) + len(batch.rejected) + batch.duplicates,
        rejected_reasons=[x.reason for x in batch.rejected],
        events=staged,
        rejected_distinct=quarantined,
        duplicates=batch.duplicates,
        same_instant_collapsed=collapsed,
    )


def load(step: Step) -> dict[str, Any]:
    report_id, result = reports.publish_report(step, wh.publish_history, staged_key="events")
    summary = {
        "report_id": report_id,
        "rows_loaded": result.staged,
        "rows_changed": result.changed,
        "end_times_linked": result.relinked,
        "rejected_new": result.rejected_new,
    }
    log.info("published status report %s: %s", report_id, summary)
    triggered = step.upstream("trigger_report")
    step.announce(
        "agent_status_history",
        # Statuses are keyed by their start: the report re-published every status that starts
        # in the window it read.
        intervals=intervals_between(
            datetime.fromisoformat(str(triggered["window_start"])),
            datetime.fromisoformat(str(triggered["window_end"])),
        ),
        rows_loaded=result.staged,
        rows_changed=result.changed,
        report_id=report_id,
    )
    return summary


def check_time_drift(step: Step) -> dict[str, Any]:
    """Validate the interval with Great Expectations, store the results in ``dq_results``, then
    fail on drift unless the integration is set to warn. The loaded statuses stay either way."""
    from acdflow.quality import LiveHistoryPair, StatusEventObservation, run_drift_checks, write_results
    from acdflow.runtime import eightbyeight_settings
    from acdflow.timewindow import request_window

    spec, warehouse, run = step.spec, step.warehouse, step.run
    triggered = step.upstream("trigger_report")
    report_id = int(step.upstream("load")["report_id"])
    timezone = eightbyeight_settings(spec.conn_id, spec.name).timezone
    start = datetime.fromisoformat(triggered["window_start"])
    end = datetime.fromisoformat(triggered["window_end"])
    # The UTC instants the request really covers (the correction widens around DST); without the
    # correction the import believes it asked for [start, end), and that is what drift is judged by.
    window = request_window(start, end, timezone, correct_quirk=True)
    requested = (window.covers_start, window.covers_end) if spec.correct_time_quirk else (start, end)
    staged = int(step.upstream("transform")["events"])
    with step.connect() as conn:
        observations = [
            StatusEventObservation(agent_id=a, status=s, time_utc=t, observed_offset_minutes=o)
            for a, s, t, o in wh.staged_observations(
                conn, warehouse.schema, integration=spec.name, report_id=report_id
            )
        ]
        store.check_staged(report_id=report_id, staged=len(observations), expected=staged)
        pairs = [
            LiveHistoryPair(agent_id=a, status_name=n, live_start_utc=live, history_start_utc=hist)
            for a, n, live, hist in wh.live_history_pairs(
                conn, warehouse.schema, integration=spec.name, start=run.interval_start, end=run.interval_end
            )
        ]
        results = run_drift_checks(
            integration=spec.name,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            requested_start=requested[0],
            requested_end=requested[1],
            tenant_timezone=timezone,
            events=observations,
            live_pairs=pairs,
        )
        write_results(conn, warehouse.schema, spec.name, run.interval_start, run.interval_end, results)
        wh.prune_staging(conn, warehouse.schema, integration=spec.name)
    failed = [r for r in results if not r.passed]
    summary = {
        "report_id": report_id,
        "events_checked": len(observations),
        "live_pairs_checked": len(pairs),
        "checks": {r.check: r.passed for r in results},
        "observed_offset_minutes": {r.check: r.observed_offset_minutes for r in failed},
    }
    for result in failed:
        log.warning("time drift in %s %s: %s", spec.name, run.interval_start.isoformat(), result.message)
    if failed and spec.drift_check == "fail":
        raise TimeDriftError("; ".join(r.message for r in failed))
    return summary
