"""Thirty simulated days, one at a time: every day's runs write their rows (completed runs and
failed ones that leave landing and staging behind), then the maintenance prunes run as of that day.
Table sizes must level off once each retention has passed, and no staging row outlives its
retention on any day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from acdflow.config import MaintenanceSpec
from acdflow.maintenance import run_all
from acdflow.warehouse import store
from tests.maintenance.seed import count, seed_completed_run, seed_failed_runs

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
RUNS_PER_DAY = 4
# Short retentions, so every one of them passes within the thirty days.
SPEC = MaintenanceSpec(
    load_runs_days=7, rejected_rows_days=10, live_log_days=5, dq_results_days=14, staging_hours=48
)
# Rows each run adds to each table, and the days each table keeps.
PER_RUN = {
    "load_runs": (3, 7),
    "rejected_rows": (1, 10),
    "agent_status_live_log": (2, 5),
    "dq_results": (1, 14),
    "raw_report_pages": (3, 2),
    "stg_interactions": (2, 2),
    "stg_rejected_rows": (2, 2),
    "stg_status_events": (2, 2),
}


def test_thirty_days_of_runs_level_off_at_their_retention(warehouse_uri: str, fresh_schema: str) -> None:
    schema = sql.Identifier(fresh_schema)
    history: list[dict[str, int]] = []
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for day in range(DAYS):
            start = DAY0 + timedelta(days=day)
            for run in range(RUNS_PER_DAY):
                # Runs during the first hour of the day; maintenance at 03:30.
                at = start + timedelta(minutes=15 * run)
                tag = day * 100 + run
                seed_completed_run(conn, fresh_schema, tag, at)
                seed_failed_runs(conn, fresh_schema, tag, at)
            now = start + timedelta(hours=3, minutes=30)
            run_all(conn, fresh_schema, SPEC, now=now)
            history.append({table: count(conn, fresh_schema, table) for table in PER_RUN})
            _assert_no_stale_staging(conn, schema, now - timedelta(hours=SPEC.staging_hours))

    for table, (per_run, keep_days) in PER_RUN.items():
        sizes = [h[table] for h in history]
        # Until the retention has passed the table grows by one day's rows a day ...
        for day in range(min(keep_days, DAYS)):
            assert sizes[day] == (day + 1) * RUNS_PER_DAY * per_run, (table, day, sizes)
        # ... then it holds exactly keep_days days of rows, whatever the day.
        steady = keep_days * RUNS_PER_DAY * per_run
        assert sizes[keep_days - 1 :] == [steady] * (DAYS - keep_days + 1), (table, sizes)


def _assert_no_stale_staging(conn: psycopg.Connection, schema: sql.Identifier, cutoff: datetime) -> None:
    checks = {
        "landed pages": "SELECT count(*) FROM {s}.raw_report_pages WHERE fetched_at < %(c)s",
        "staged events": "SELECT count(*) FROM {s}.stg_status_events WHERE staged_at < %(c)s",
        # Staged rows carry no time of their own: stale means their report's pages are gone.
        "orphaned staged interactions": "SELECT count(*) FROM {s}.stg_interactions i WHERE NOT EXISTS"
        " (SELECT 1 FROM {s}.raw_report_pages p WHERE p.report_id = i.report_id)",
        "orphaned staged rejected rows": "SELECT count(*) FROM {s}.stg_rejected_rows r WHERE NOT EXISTS"
        " (SELECT 1 FROM {s}.raw_report_pages p WHERE p.report_id = r.report_id)",
    }
    for what, text in checks.items():
        row = conn.execute(sql.SQL(text).format(s=schema), {"c": cutoff}).fetchone()
        assert row == (0,), what
