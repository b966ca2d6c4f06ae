"""The maintenance prunes against a real PostgreSQL: exactly the rows older than their retention
go, in every pruned table, and nothing published is touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from acdflow.config import MaintenanceSpec
from acdflow.maintenance import PRUNES, prune, run_all
from acdflow.warehouse import store
from acdflow.warehouse.sql import render
from tests.maintenance.seed import (
    count,
    seed_cleared_extract,
    seed_completed_run,
    seed_failed_runs,
    tags,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Ages (hours) straddling every default retention: 48 h, 35, 90, 180 and 400 days.
AGES = [1, 47, 49, 24 * 10, 24 * 35 - 1, 24 * 35 + 1, 24 * 90 - 1, 24 * 90 + 1, 24 * 180 - 1, 24 * 180 + 1,
        24 * 400 - 1, 24 * 400 + 1]  # fmt: skip
CLEARED = 999_999

RETENTION_HOURS = {
    "load_runs": 90 * 24,
    "rejected_rows": 180 * 24,
    "agent_status_live_log": 35 * 24,
    "dq_results": 400 * 24,
    "raw_report_pages": 48,
    "stg_interactions": 48,
    "stg_rejected_rows": 48,
    "stg_status_events": 48,
}
PUBLISHED = ("interactions", "interval_aht", "agent_status_history", "agent_status_live")


@pytest.fixture
def conn(warehouse_uri: str, fresh_schema: str) -> Iterator[psycopg.Connection]:
    with store.connect(warehouse_uri, fresh_schema) as connection:
        yield connection


def seed_ages(conn: psycopg.Connection, schema: str, now: datetime) -> None:
    for age in AGES:
        at = now - timedelta(hours=age)
        seed_completed_run(conn, schema, age, at)
        seed_failed_runs(conn, schema, age, at)
    seed_cleared_extract(conn, schema, CLEARED)


def assert_only_young_rows_remain(conn: psycopg.Connection, schema: str) -> None:
    for table, hours in RETENTION_HOURS.items():
        expected = {age for age in AGES if age < hours}
        assert tags(conn, schema, table) == expected, table


def test_every_prune_deletes_exactly_the_rows_older_than_its_retention(
    conn: psycopg.Connection, fresh_schema: str
) -> None:
    seed_ages(conn, fresh_schema, NOW)
    published_before = {t: count(conn, fresh_schema, t) for t in PUBLISHED}
    # The staged rows of the cleared extract have no pages at all: they go whatever their age.
    assert CLEARED in tags(conn, fresh_schema, "stg_interactions")

    summary = run_all(conn, fresh_schema, MaintenanceSpec(), now=NOW)

    assert_only_young_rows_remain(conn, fresh_schema)
    assert {t: count(conn, fresh_schema, t) for t in PUBLISHED} == published_before
    deleted = {table: n for s in summary.values() for table, n in s["deleted"].items()}
    old = {table: sum(1 for age in AGES if age >= hours) for table, hours in RETENTION_HOURS.items()}
    per_run = {
        "load_runs": 3,
        "rejected_rows": 1,
        "agent_status_live_log": 2,
        "dq_results": 1,
        "raw_report_pages": 3,
        "stg_interactions": 2,
        "stg_rejected_rows": 2,
        "stg_status_events": 2,
    }
    expected = {table: old[table] * per_run[table] for table in RETENTION_HOURS}
    expected["stg_interactions"] += 1  # the cleared extract's staged row
    expected["stg_rejected_rows"] += 1
    assert deleted == expected
    assert summary["prune_load_runs"]["cutoff"] == (NOW - timedelta(days=90)).isoformat()

    # A second run finds nothing more to do.
    again = run_all(conn, fresh_schema, MaintenanceSpec(), now=NOW)
    assert all(n == 0 for s in again.values() for n in s["deleted"].values())


def test_prunes_delete_in_batches_and_default_to_the_database_clock(
    conn: psycopg.Connection, fresh_schema: str
) -> None:
    database_now = store.database_now(conn, fresh_schema)
    for tag in range(250):
        seed_completed_run(conn, fresh_schema, tag, database_now - timedelta(days=91, minutes=tag))
    seed_completed_run(conn, fresh_schema, 1000, database_now - timedelta(days=89))

    result = prune(conn, fresh_schema, "prune_load_runs", MaintenanceSpec(batch_rows=100))

    # 750 old rows: seven full batches of 100 and one of 50.
    assert result["deleted"] == {"load_runs": 750}
    assert result["batches"] == 8
    assert tags(conn, fresh_schema, "load_runs") == {1000}


def test_time_based_prunes_find_their_rows_through_an_index(
    conn: psycopg.Connection, fresh_schema: str
) -> None:
    # With few rows the planner prefers a sequential scan; switching scans off asks whether an
    # index path exists at all (without the 0006 indexes it does not, and the plan is a Seq Scan).
    conn.execute("SET enable_seqscan = off")
    checked = []
    for step in PRUNES:
        for part, table in step.parts:
            text = render(step.sql_file(part), fresh_schema).as_string(conn)
            if "%(now)s" not in text:
                _assert_probes_pages_by_key(conn, text, table)
                continue
            statement = (
                text.replace("%(now)s", "NULL")
                .replace("%(retention)s", "'1 day'")
                .replace("%(batch_rows)s", "100")
            )
            plan = "\n".join(str(r[0]) for r in conn.execute("EXPLAIN " + statement).fetchall())
            assert "Index" in plan, (table, plan)
            assert "Seq Scan" not in plan, (table, plan)
            checked.append(table)
    assert sorted(checked) == sorted(
        ["raw_report_pages", "stg_status_events", "load_runs", "rejected_rows", "agent_status_live_log",
         "dq_results"]
    )  # fmt: skip


def _assert_probes_pages_by_key(conn: psycopg.Connection, text: str, table: str) -> None:
    """Staged rows without a time of their own go by their report's pages: each row's probe must
    be a lookup on the pages' primary key by integration and report, not a scan of the pages."""
    conn.execute("SET enable_hashjoin = off")
    conn.execute("SET enable_mergejoin = off")
    try:
        plan = "\n".join(
            str(r[0]) for r in conn.execute("EXPLAIN " + text.replace("%(batch_rows)s", "100")).fetchall()
        )
    finally:
        conn.execute("RESET enable_hashjoin")
        conn.execute("RESET enable_mergejoin")
    assert "raw_report_pages_pkey" in plan, (table, plan)
    probe = plan[plan.index("raw_report_pages_pkey") :]
    assert "Index Cond: ((integration = " in probe, (table, plan)
