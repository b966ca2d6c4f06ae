"""Agent-status staging is pruned with everything it staged, quarantined rows included."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql

from acdflow.warehouse import agent_status as status_store
from acdflow.warehouse import store
from acdflow.warehouse.agent_status import StagedEvent
from acdflow.warehouse.store import StagedRejection

T0 = datetime(2026, 11, 10, 18, 3, tzinfo=UTC)


def _count(conn: psycopg.Connection[object], schema: str, table: str, report_id: int) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.{} WHERE integration = 'acme' AND report_id = %s").format(
            sql.Identifier(schema), sql.Identifier(table)
        ),
        (report_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])  # type: ignore[call-overload]


def test_old_reports_leave_no_quarantined_staging_rows(warehouse_uri: str, fresh_schema: str) -> None:
    event = StagedEvent("ag1", "Ann", "Available", None, "Available", T0, -480)
    bad = StagedRejection("time is not a timestamp: 'noon'", {"agentId": "ag2", "time": "noon"}, "ag2", None)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for report_id in (1, 2):
            status_store.stage_events(
                conn, fresh_schema, integration="acme", report_id=report_id, events=[event], rejected=[bad]
            )
        # Report 1 is three days old; report 2 was staged just now and must stay for re-validation.
        conn.execute(
            sql.SQL(
                "UPDATE {}.stg_status_events SET staged_at = now() - interval '3 days' WHERE report_id = 1"
            ).format(sql.Identifier(fresh_schema))
        )
        assert _count(conn, fresh_schema, "stg_rejected_rows", 1) == 1
        status_store.prune_staging(conn, fresh_schema, integration="acme")
        assert _count(conn, fresh_schema, "stg_status_events", 1) == 0
        assert _count(conn, fresh_schema, "stg_rejected_rows", 1) == 0
        assert _count(conn, fresh_schema, "stg_status_events", 2) == 1
        assert _count(conn, fresh_schema, "stg_rejected_rows", 2) == 1
