"""Warehouse side of the historical agent-status import: staging events, publishing statuses and
linking each status to the agent's next one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from acdflow.pipeline import AGENT_STATUS_REPORT
from acdflow.warehouse.sql import render
from acdflow.warehouse.store import (
    Connection,
    StagedRejection,
    check_staged,
    clear_staging,
    copy_rejected,
    copy_rows,
    database_now,
    publish_rejected,
)

STAGING_TABLES = ("stg_status_events", "stg_rejected_rows")
_EVENT_COLUMNS = (
    "integration",
    "report_id",
    "agent_id",
    "agent_name",
    "status",
    "status_code",
    "status_name",
    "start_time",
    "observed_offset_minutes",
)


@dataclass(frozen=True, slots=True)
class StagedEvent:
    agent_id: str
    agent_name: str | None
    status: str
    status_code: str | None
    status_name: str
    start_time: datetime
    observed_offset_minutes: int


def collapse_same_instant(events: Iterable[StagedEvent]) -> tuple[list[StagedEvent], int]:
    """One status per (agent, instant). Two different statuses at the same millisecond leave the
    first with zero duration; the later one in (status, code) order (case-insensitive, so the
    choice does not depend on the order 8x8 listed them) is the status in effect. Returns the kept
    events and how many collapsed."""
    kept: dict[tuple[str, datetime], StagedEvent] = {}
    collapsed = 0
    for event in sorted(
        events, key=lambda e: (e.agent_id, e.start_time, e.status.lower(), e.status_code or "")
    ):
        key = (event.agent_id, event.start_time)
        if key in kept:
            collapsed += 1
        kept[key] = event
    return list(kept.values()), collapsed


def stage_events(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_id: int,
    events: Sequence[StagedEvent],
    rejected: Iterable[StagedRejection],
) -> tuple[int, int]:
    with conn.transaction():
        clear_staging(conn, schema, STAGING_TABLES, integration=integration, report_id=report_id)
        staged = copy_rows(
            conn,
            schema,
            "stg_status_events",
            _EVENT_COLUMNS,
            (
                (
                    integration,
                    report_id,
                    e.agent_id,
                    e.agent_name,
                    e.status,
                    e.status_code,
                    e.status_name,
                    e.start_time,
                    e.observed_offset_minutes,
                )
                for e in events
            ),
        )
        quarantined = copy_rejected(
            conn, schema, integration=integration, report_id=report_id, rejected=rejected
        )
    return staged, quarantined


@dataclass(frozen=True, slots=True)
class HistoryPublish:
    staged: int
    changed: int
    relinked: int
    rejected_new: int


def publish_history(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_id: int,
    interval_start: datetime,
    report_created_at: datetime | None = None,
    expected_staged: int | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> HistoryPublish:
    """Upsert the staged statuses, record ``window`` (the UTC window the report read) as covered,
    re-link end times of the touched agents and publish the quarantined rows, in one transaction
    serialised per integration. Statuses that bridge time no loaded report read are marked
    provisional; the mark goes once loaded reports have read all of their time.

    ``report_created_at`` (default: now, on the warehouse clock) decides which report wins when two
    disagree; ``expected_staged`` makes the load fail, publishing nothing, if staged rows are gone."""
    params: dict[str, Any] = {
        "integration": integration,
        "report_id": report_id,
        "report_kind": AGENT_STATUS_REPORT,
    }
    with conn.transaction():
        # Relinking reads the whole chain of the touched agents; two loads interleaving would
        # each link against a chain missing the other's events.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"acdflow:agent_status:{integration}",))
        staged_row = conn.execute(render("agent_status/load.staged.sql", schema), params).fetchone()
        staged = int(staged_row[0]) if staged_row else 0
        check_staged(report_id=report_id, staged=staged, expected=expected_staged)
        params["report_created_at"] = report_created_at or database_now(conn, schema)
        changed = conn.execute(render("agent_status/load.sql", schema), params).rowcount
        if window is not None:
            conn.execute(
                render("agent_status/load.coverage.sql", schema),
                {**params, "window_start": window[0], "window_end": window[1]},
            )
        relinked = conn.execute(render("agent_status/load.relink.sql", schema), params).rowcount
        rejected_new = publish_rejected(
            conn, schema, params, source="agent_status", interval_start=interval_start
        )
    return HistoryPublish(
        staged=staged,
        changed=max(changed, 0),
        relinked=max(relinked, 0),
        rejected_new=rejected_new,
    )


def staged_observations(
    conn: Connection, schema: str, *, integration: str, report_id: int
) -> list[tuple[str, str, datetime, int]]:
    """(agent_id, status, start_time, observed offset) of a report's staged events, for drift checks."""
    rows = conn.execute(
        render("agent_status/check_time_drift.sql", schema),
        {"integration": integration, "report_id": report_id},
    ).fetchall()
    return [(str(r[0]), str(r[1]), r[2], int(r[3])) for r in rows]


def live_history_pairs(
    conn: Connection, schema: str, *, integration: str, start: datetime, end: datetime
) -> list[tuple[str, str, datetime, datetime]]:
    """Live-observed status starts in ``[start, end)`` paired with the nearest historical start of the
    same agent and status name (within 14 hours, the widest UTC offset), for the drift check."""
    rows = conn.execute(
        render("agent_status/check_time_drift.live_pairs.sql", schema),
        {"integration": integration, "start": start, "end": end},
    ).fetchall()
    return [(str(r[0]), str(r[1]), r[2], r[3]) for r in rows]


def prune_staging(conn: Connection, schema: str, *, integration: str, keep_days: int = 2) -> None:
    """Drop landed pages and staged events older than ``keep_days``. They are kept that long so a
    cleared ``check_time_drift`` re-validates exactly what 8x8 returned."""
    params = {"integration": integration, "keep_days": keep_days, "report_kind": AGENT_STATUS_REPORT}
    with conn.transaction():
        for part in ("prune_events", "prune_pages", "prune_rejected"):
            conn.execute(render(f"agent_status/check_time_drift.{part}.sql", schema), params)
