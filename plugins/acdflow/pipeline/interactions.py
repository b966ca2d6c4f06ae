"""Queue data: the steps of ``<name>__interactions``, one function per task.

Each step takes plain values (the integration spec, the run's identity, ids from the previous
step) and returns a small JSON-able summary for XCom: ids and counts, never rows or tokens.

Window: a run for the data interval ``[S, E)`` asks 8x8 for interactions *created* in
``[S - lookback, E)``. 8x8 filters detailed reports on creation time and leaves out interactions
that are still ongoing (docs/8x8-api-notes.md, “Ongoing interactions are left out of reports”), so
re-reading the look-back is what brings in the ones that finished after their interval was first
imported; the keyed upsert makes the re-read harmless.
Once a day (the run of ``settle_hour_utc``:00) the look-back is ``settle_lookback_hours``, for
interactions that stay open longer than the regular look-back.
Rows are placed in intervals by ``queueTime`` (the product's interaction timestamp), not by the
request window.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from acdflow.assets import intervals_between
from acdflow.config import IntegrationSpec
from acdflow.pipeline import INTERACTION_REPORT, reports
from acdflow.pipeline.reports import authenticate, extract, wait_for_report
from acdflow.pipeline.steps import Step
from acdflow.runtime import RunInfo
from acdflow.warehouse import store

__all__ = [
    "aggregate_aht",
    "authenticate",
    "extract",
    "load",
    "transform",
    "trigger_report",
    "wait_for_report",
]

log = logging.getLogger(__name__)

REPORT_TYPE = INTERACTION_REPORT
# Why each field is requested: docs/8x8-api-notes.md, “The two report types and the fields
# requested”. The participants carry the AHT inputs.
METRICS = (
    "interactionId",
    "transactionId",
    "time",
    "queueTime",
    "queueId",
    "queueName",
    "direction",
    "mediaType",
    "interactionLabels",
    "outcome",
    "finishedTime",
    "queueWaitDuration",
    "participantOfferActionTime",
    "participantWrapUpEndTime",
    "participantHandlingEndTime",
    "participantOfferAction",
)


def fetch_window(spec: IntegrationSpec, run: RunInfo, now: datetime) -> reports.ReadWindow:
    """UTC creation-time window a run reads: its interval plus the look-back before it (longer for
    the daily settle run), or plus ``final_overlap_minutes`` only once its data is final."""
    return reports.read_window(
        run, minutes=spec.lookback_minutes, spec=spec, now=now, final_minutes=spec.final_overlap_minutes
    )


def trigger_report(step: Step) -> dict[str, Any]:
    now = reports.warehouse_now(step)
    window = fetch_window(step.spec, step.run, now)
    return reports.trigger_report(
        step, report_type=REPORT_TYPE, metrics=METRICS, window=window, now=now, include_participants=True
    )


def transform(step: Step) -> dict[str, Any]:
    from acdflow.transform.interactions import transform_interactions

    triggered = step.upstream("trigger_report")
    with reports.landed_report(step) as landed:
        batch = transform_interactions(
            landed.rows,
            window_start=datetime.fromisoformat(triggered["window_start"]),
            window_end=datetime.fromisoformat(triggered["window_end"]),
        )
        staged, quarantined = store.stage_interactions(
            landed.conn,
            step.warehouse.schema,
            integration=step.spec.name,
            report_id=landed.report_id,
            records=batch.records,
            rejected=(
                store.StagedRejection(x.reason, x.raw, x.interaction_id, x.record_time)
                for x in batch.rejected
            ),
        )
    return reports.account_for_rows(
        landed,
        accounted=len(batch.records) + len(batch.rejected) + sum(batch.filtered.values()) + batch.duplicates,
        rejected_reasons=[x.reason for x in batch.rejected],
        records=staged,
        rejected_distinct=quarantined,
        filtered=dict(batch.filtered),
        aht_excluded=dict(batch.aht_excluded),
        duplicates=batch.duplicates,
    )


def load(step: Step) -> dict[str, Any]:
    report_id, result = reports.publish_report(step, store.publish_interactions, staged_key="records")
    summary = {
        "report_id": report_id,
        "rows_loaded": result.staged,
        "rows_changed": result.changed,
        "rejected_new": result.rejected_new,
        "intervals": [i.isoformat() for i in result.intervals],
    }
    log.info("published report %s: %s", report_id, summary)
    step.announce(
        "interactions",
        intervals=result.intervals,
        rows_loaded=result.staged,
        rows_changed=result.changed,
        report_id=report_id,
    )
    return summary


def aggregate_aht(step: Step) -> dict[str, Any]:
    loaded = step.upstream("load")
    report_id = int(loaded["report_id"])
    # Every interval of the run's own (a day for a history run) is recomputed, with or without rows.
    touched = sorted(
        {datetime.fromisoformat(i) for i in loaded["intervals"]}
        | set(intervals_between(step.run.interval_start, step.run.interval_end))
    )
    with step.connect() as conn:
        written = store.recompute_aht(
            conn,
            step.warehouse.schema,
            integration=step.spec.name,
            intervals=touched,
            cleanup_report_id=report_id,
        )
    step.announce(
        "interval_aht",
        intervals=touched,
        # The recompute writes only rows whose figures changed: loaded and changed are the same.
        rows_loaded=written,
        rows_changed=written,
        report_id=report_id,
    )
    return {"report_id": report_id, "intervals": len(touched), "aht_rows_written": written}
