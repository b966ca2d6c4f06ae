"""Realistic rows for every table the maintenance DAG prunes, written with explicit timestamps.

Each seeded "run" is tagged by a number (its age in hours, or its day), so a test can name exactly
which rows it expects to survive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

INTEGRATION = "acme"
# Report ids of agent-status reports are kept apart from interactions reports'.
STATUS_REPORT_OFFSET = 1_000_000
_NOON = datetime(2026, 11, 2, 12, tzinfo=UTC)

# Every pruned table and the column naming the seeded run it came from.
TAGGED: dict[str, str] = {
    "load_runs": "run_id",
    "rejected_rows": "record_id",
    "agent_status_live_log": "agent_id",
    "dq_results": "check_name",
    "raw_report_pages": "report_id",
    "stg_interactions": "report_id",
    "stg_rejected_rows": "report_id",
    "stg_status_events": "report_id",
}


def _q(schema: str, text: str) -> sql.Composed:
    return sql.SQL(text).format(schema=sql.Identifier(schema))


def seed_completed_run(conn: psycopg.Connection, schema: str, tag: int, at: datetime) -> None:
    """What a finished interval leaves behind at ``at``: three run-log rows, a quarantined row, two
    observed live changes and a data-quality result. Staging was cleaned by the run itself."""
    interval = at.replace(minute=(at.minute // 15) * 15, second=0, microsecond=0) - timedelta(minutes=15)
    for step in ("extract", "transform", "load"):
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.load_runs (integration, dag_id, run_id, step, try_number,"
                " interval_start, interval_end, report_id, rows_fetched, duration_ms, status, finished_at)"
                " VALUES (%s, 'acme__interactions', %s, %s, 1, %s, %s, %s, 10, 120, 'success', %s)",
            ),
            (INTEGRATION, f"scheduled__{tag}", step, interval, interval + timedelta(minutes=15), tag, at),
        )
    conn.execute(
        _q(
            schema,
            "INSERT INTO {schema}.rejected_rows (integration, source, row_hash, reason, raw, record_id,"
            " record_time, interval_start, report_id, first_seen_at)"
            " VALUES (%s, 'interactions', %s, 'mediaType: unknown value Fax', %s, %s, %s, %s, %s, %s)",
        ),
        (INTEGRATION, f"hash-{tag}", Jsonb({"mediaType": "Fax"}), str(tag), at, interval, tag, at),
    )
    for offset, status in ((0, "Available"), (1, "On Break")):
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.agent_status_live_log (integration, agent_id, agent_name, status,"
                " status_name, start_time, observed_at) VALUES (%s, %s, 'Ann', 'available', %s, %s, %s)",
            ),
            (INTEGRATION, str(tag), status, at - timedelta(minutes=5 - offset), at),
        )
    conn.execute(
        _q(
            schema,
            "INSERT INTO {schema}.dq_results (integration, interval_start, interval_end, check_name,"
            " passed, details, checked_at) VALUES (%s, %s, %s, %s, true, %s, %s)",
        ),
        (INTEGRATION, interval, interval + timedelta(minutes=15), str(tag), Jsonb({"rows": 3}), at),
    )


def seed_failed_runs(conn: psycopg.Connection, schema: str, tag: int, at: datetime) -> None:
    """What failed runs leave behind at ``at``: an interactions report landed and staged (with a
    quarantined row) that never published, and an agent-status report landed and staged whose
    drift check never ran, so nothing cleaned either up."""
    status_report = STATUS_REPORT_OFFSET + tag
    for page in range(2):
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.raw_report_pages (integration, report_kind, report_id, page_index,"
                " row_count, body, fetched_at) VALUES (%s, 'interactions', %s, %s, 1, %s, %s)",
            ),
            (INTEGRATION, tag, page, Jsonb([{"interactionGuid": f"{tag}-{page}"}]), at),
        )
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.stg_interactions (integration, report_id, interaction_id, queue_name,"
                " channel, media_type, direction, queue_time, interval_start, handled, handling_ms)"
                " VALUES (%s, %s, %s, 'Support', 'call', 'Phone', 'inbound', %s, %s, true, 60000)",
            ),
            (INTEGRATION, tag, f"{tag}-{page}", at, at),
        )
    conn.execute(
        _q(
            schema,
            "INSERT INTO {schema}.raw_report_pages (integration, report_kind, report_id, page_index,"
            " row_count, body, fetched_at) VALUES (%s, 'agent-status', %s, 0, 2, %s, %s)",
        ),
        (INTEGRATION, status_report, Jsonb([{"agentId": "a"}, {"agentId": "b"}]), at),
    )
    for agent in ("a", "b"):
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.stg_status_events (integration, report_id, agent_id, status,"
                " status_name, start_time, observed_offset_minutes, staged_at)"
                " VALUES (%s, %s, %s, 'available', 'Available', %s, 0, %s)",
            ),
            (INTEGRATION, status_report, agent, at - timedelta(hours=1), at),
        )
    for report_id in (tag, status_report):
        conn.execute(
            _q(
                schema,
                "INSERT INTO {schema}.stg_rejected_rows (integration, report_id, row_hash, reason, raw)"
                " VALUES (%s, %s, %s, 'bad row', %s)",
            ),
            (INTEGRATION, report_id, f"stg-{report_id}", Jsonb({"x": 1})),
        )


def seed_cleared_extract(conn: psycopg.Connection, schema: str, tag: int) -> None:
    """Staged rows whose pages a cleared extract deleted and never landed again."""
    conn.execute(
        _q(
            schema,
            "INSERT INTO {schema}.stg_interactions (integration, report_id, interaction_id, queue_name,"
            " channel, media_type, direction, queue_time, interval_start, handled)"
            " VALUES (%s, %s, 'orphan', 'Support', 'chat', 'Chat', 'inbound', %s, %s, false)",
        ),
        (INTEGRATION, tag, _NOON, _NOON),
    )
    conn.execute(
        _q(
            schema,
            "INSERT INTO {schema}.stg_rejected_rows (integration, report_id, row_hash, reason, raw)"
            " VALUES (%s, %s, 'orphan', 'bad row', %s)",
        ),
        (INTEGRATION, tag, Jsonb({"x": 2})),
    )


def tags(conn: psycopg.Connection, schema: str, table: str) -> set[int]:
    """The seeded runs that still have rows in ``table`` (rows written otherwise are ignored)."""
    column = TAGGED[table]
    expression = "split_part(run_id, '__', 2)" if column == "run_id" else f"{column}::text"
    rows = conn.execute(_q(schema, f"SELECT DISTINCT {expression} FROM {{schema}}.{table}")).fetchall()
    return {int(r[0]) % STATUS_REPORT_OFFSET for r in rows if str(r[0]).isdigit()}


def count(conn: psycopg.Connection, schema: str, table: str) -> int:
    row = conn.execute(_q(schema, f"SELECT count(*) FROM {{schema}}.{table}")).fetchone()
    assert row is not None
    return int(row[0])
