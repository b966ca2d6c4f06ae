"""Thirty days of one integration in a few minutes: the real DAGs against the simulator over HTTP,
both clocks moved a day at a time, and the ``acdflow_maintenance`` DAG run every day.

The warehouse stamps its rows with its own clock (``fetched_at``, ``finished_at``, ``observed_at``,
``checked_at`` … are ``now()``), so that clock is the one moved: the test's PostgreSQL runs under
Debian's ``libfaketime`` (:class:`acdflow_dev.embedded.FakeClock`), and the simulator's clock
(8x8's) is set to the same instants.

Every simulated day, in the order and at the times (UTC) of a deployment:

* 06:40 a live-status poll (``agent_status_live_log``);
* 06:45 the agent-status run of 06:30-06:45 (its landed pages and staged events stay two days by
  design; ``dq_results``);
* 07:00, every other day, the interactions run of 02:45-03:00, which fails at ``load``: a session
  building an index holds a share lock on ``interactions`` for longer than the warehouse
  connection's ``lock_timeout`` and the task's retries, so the run leaves its landed pages and
  staged rows behind;
* 07:15 the interactions run of 03:00-03:15, whose four-hour look-back imports the failed interval;
* 09:00 the maintenance DAG, with retentions short enough to pass within the month.

Every pruned table's rows are counted by the day they were written, right after the day's runs
and again after its maintenance. After the maintenance a table must hold exactly the rows of the
days its retention keeps, all of them: so its size levels off once the retention has passed, and
no landed or staged row is older than the staging retention on any day. The published data of
every day equals the simulator's ground truth: agent statuses on their day, interactions and AHT
at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from acdflow.config import load_config
from acdflow.maintenance import DAG_ID, PRUNES, build_maintenance_dag
from acdflow.pipeline.live_timing import polling_window
from acdflow_dev.embedded import LIBFAKETIME, EmbeddedPostgres, FakeClock, airflow_conn_from_uri
from tests.e2e.harness import FIFTEEN, Pipeline, start_pipeline

FAKETIME_MISSING = f"needs Debian's faketime ({LIBFAKETIME}): apt-get install faketime"
# CI installs faketime (.ci/run): missing there is a broken setup, which fails rather than skips.
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

pytestmark = [
    # About 3 minutes on a busy two-core machine, up to 8 when it is overloaded.
    pytest.mark.slow,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not FakeClock.available() and not IN_CI, reason=FAKETIME_MISSING),
]

TMP_ROOT = Path(__file__).resolve().parents[2] / ".acdflow" / "tmp"  # as in tests/conftest.py
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
NAME = "month"
SCHEMA = "acd"
MS = timedelta(milliseconds=1)

# The day's timetable, as times after midnight UTC (Tokyo business hours: UTC+9).
LIVE_INTERVAL = timedelta(hours=6)  # its polling window closed at 06:31: the 06:40 run polls once
LIVE_AT = timedelta(hours=6, minutes=40)
STATUS_INTERVAL = timedelta(hours=6, minutes=30)
FAILED_INTERVAL = timedelta(hours=2, minutes=45)
FAILED_AT = timedelta(hours=7)  # four hours after the interval: its interactions have all finished
IMPORTED_INTERVAL = timedelta(hours=3)
IMPORTED_AT = timedelta(hours=7, minutes=15)
MAINTENANCE_AT = timedelta(hours=9)
# The failing run is the day's slowest (three tries, each waiting for the lock), so it runs every
# other day: every two-day staging window still holds a failed run's rows.
FAILING_DAYS = range(0, DAYS, 2)
# Compared with the truth: the intervals whose interactions the day's imports read in full.
COMPARED = (timedelta(hours=0), IMPORTED_INTERVAL + FIFTEEN)

# Short retentions (staging_hours at its minimum), all of them passing well within the month.
STAGING_HOURS = 48
MAINTENANCE = {
    "load_runs_days": 4,
    "rejected_rows_days": 6,
    "live_log_days": 3,
    "dq_results_days": 9,
    "staging_hours": STAGING_HOURS,
    "schedule": "0 9 * * *",
}
# Days of rows each table holds after a day's maintenance. The runs write between 06:40 and
# 07:16, the maintenance cuts at 09:00 of an earlier day: it keeps the rows of the last N days.
KEPT_DAYS = {
    "load_runs": 4,
    "rejected_rows": 6,
    "agent_status_live_log": 3,
    "dq_results": 9,
    "raw_report_pages": 2,
    "stg_status_events": 2,
    "stg_interactions": 2,
    "stg_rejected_rows": 2,
}
# When a row was written, on the warehouse's clock. Staged interactions and quarantined rows have
# no time of their own: they are dated by their report.
WRITTEN_AT = {
    "load_runs": "finished_at",
    "rejected_rows": "first_seen_at",
    "agent_status_live_log": "observed_at",
    "dq_results": "checked_at",
    "raw_report_pages": "fetched_at",
    "stg_status_events": "staged_at",
}
DATED_BY_REPORT = ("stg_interactions", "stg_rejected_rows")
STAGING = ("raw_report_pages", "stg_status_events", "stg_interactions", "stg_rejected_rows")


@dataclass
class MonthPipeline(Pipeline):
    """The harness's integration, with a ``maintenance:`` section in its integrations file and a
    warehouse connection that waits half a second at most for a lock."""

    def env(self) -> dict[str, str]:
        env = super().env()
        warehouse = airflow_conn_from_uri(self.warehouse_uri)
        warehouse["extra"] = {"lock_timeout": "500ms"}
        env[f"AIRFLOW_CONN_{self.warehouse_conn_id.upper()}"] = json.dumps(warehouse)
        return env

    def write_config(self) -> None:
        super().write_config()
        document = yaml.safe_load(self.config_path.read_text())
        document["maintenance"] = MAINTENANCE
        self.config_path.write_text(yaml.safe_dump(document))


@dataclass
class Month:
    pipe: MonthPipeline
    clock: FakeClock
    uri: str
    airflow_home: Path
    # table -> day -> rows written that day, counted right after the day's runs
    written: dict[str, dict[int, int]] = field(default_factory=dict)
    # table -> rows after each day's maintenance
    sizes: dict[str, list[int]] = field(default_factory=dict)
    # report id -> the day it was landed
    report_day: dict[int, int] = field(default_factory=dict)

    def run(self, interval_start: datetime, at: datetime, kind: str, expect: str = "success") -> Any:
        """The ``kind`` DAG run of ``interval_start``, 8x8's and the warehouse's clocks at ``at``."""
        self.pipe.sim.clock.set(at)
        self.clock.set(at)
        return self.pipe.run(interval_start, kind=kind, expect=expect)

    def maintain(self, at: datetime) -> dict[str, int]:
        """The maintenance DAG's run at ``at``; returns the rows it deleted per table, from its tasks'
        summaries."""
        self.clock.set(at)
        with self.pipe.environment():
            dag = build_maintenance_dag(load_config(self.pipe.config_path))
            assert dag is not None
            dag_run = dag.test(logical_date=at)
        assert str(dag_run.state) == "success", f"maintenance at {at}: {dag_run.state}"
        with sqlite3.connect(self.airflow_home / "airflow.db") as meta:
            rows = meta.execute(
                "SELECT task_id, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
                (DAG_ID, dag_run.run_id),
            ).fetchall()
        summaries = {task_id: json.loads(value) for task_id, value in rows}
        assert sorted(summaries) == sorted(p.task_id for p in PRUNES)
        return {table: n for s in summaries.values() for table, n in s["deleted"].items()}

    def date_reports(self, conn: psycopg.Connection[Any], day: int) -> set[int]:
        """Date the reports first seen in landing or staging to ``day``; returns them."""
        query = sql.SQL(" UNION ").join(
            sql.SQL("SELECT report_id FROM {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(t))
            for t in STAGING
        )
        new = {int(r[0]) for r in conn.execute(query).fetchall()} - set(self.report_day)
        self.report_day.update(dict.fromkeys(new, day))
        return new

    def by_day(self, conn: psycopg.Connection[Any]) -> dict[str, Counter[int]]:
        """Every pruned table's rows, counted by the simulated day they were written."""
        schema = sql.Identifier(SCHEMA)
        out: dict[str, Counter[int]] = {}
        for table, column in WRITTEN_AT.items():
            rows = conn.execute(
                sql.SQL(
                    "SELECT floor(extract(epoch FROM {c} - %s::timestamptz) / 86400)::int, count(*)"
                    " FROM {s}.{t} GROUP BY 1"
                ).format(c=sql.Identifier(column), s=schema, t=sql.Identifier(table)),
                (DAY0,),
            ).fetchall()
            out[table] = Counter({int(day): int(n) for day, n in rows})
        for table in DATED_BY_REPORT:
            query = sql.SQL("SELECT report_id, count(*) FROM {}.{} GROUP BY 1").format(
                schema, sql.Identifier(table)
            )
            days: Counter[int] = Counter()
            for report_id, n in conn.execute(query).fetchall():
                days[self.report_day[int(report_id)]] += int(n)
            out[table] = days
        return out


def _stale_staging(conn: psycopg.Connection[Any], cutoff: datetime) -> dict[str, int]:
    """Landed and staged rows older than ``cutoff``; a staged row whose report has no landed page
    or staged event younger than that is stale too (nothing can publish it any more)."""
    checks = {
        "raw_report_pages": "SELECT count(*) FROM {s}.raw_report_pages WHERE fetched_at < %(c)s",
        "stg_status_events": "SELECT count(*) FROM {s}.stg_status_events WHERE staged_at < %(c)s",
        "stg_interactions": "SELECT count(*) FROM {s}.stg_interactions i WHERE NOT EXISTS (SELECT 1"
        " FROM {s}.raw_report_pages p WHERE p.report_id = i.report_id AND p.fetched_at >= %(c)s)",
        "stg_rejected_rows": "SELECT count(*) FROM {s}.stg_rejected_rows r WHERE NOT EXISTS (SELECT 1"
        " FROM {s}.raw_report_pages p WHERE p.report_id = r.report_id AND p.fetched_at >= %(c)s)"
        " AND NOT EXISTS (SELECT 1 FROM {s}.stg_status_events e WHERE e.report_id = r.report_id"
        " AND e.staged_at >= %(c)s)",
    }
    out = {}
    for table, text in checks.items():
        row = conn.execute(sql.SQL(text).format(s=sql.Identifier(SCHEMA)), {"c": cutoff}).fetchone()
        assert row is not None
        out[table] = int(row[0])
    return out


def _window(written: dict[int, int], day: int, keep: int) -> dict[int, int]:
    """The rows of the days that the maintenance of ``day`` keeps, by day."""
    return {d: n for d, n in written.items() if day - keep < d <= day and n}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """The test's files: the server's data, its clock file, the integrations file. Not under
    pytest's tmp_path, which another pytest session may prune while this long test runs."""
    TMP_ROOT.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="thirty-days-", dir=TMP_ROOT))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_thirty_days_level_off_at_their_retention(
    request: pytest.FixtureRequest, workdir: Path, airflow_db: Path
) -> None:
    if not FakeClock.available():
        pytest.fail(FAKETIME_MISSING)
    start = DAY0 + timedelta(hours=6)
    # Set before the server starts: its clock never goes back.
    clock = FakeClock(workdir / "faketime", start=start)
    with EmbeddedPostgres(workdir / "pg", env=clock.env()) as server:
        with psycopg.connect(server.uri, autocommit=True) as conn:
            now = conn.execute("SELECT now(), clock_timestamp()").fetchone()
        assert now is not None
        assert all(start <= t < start + timedelta(minutes=5) for t in now), now
        pipe: MonthPipeline = start_pipeline(
            request,
            workdir,
            server.uri,
            SCHEMA,
            name=NAME,
            timezone="Asia/Tokyo",
            region="au",
            faults="malformed_rate=0.03;seed=7",
            scale=500,
            clock=start,
            pipeline_cls=MonthPipeline,
            retries=2,
            retry_delay_seconds=1,
            max_retry_delay_seconds=1,
        )
        month = Month(pipe, clock, server.uri, airflow_db)
        for day in range(DAYS):
            _one_day(month, day)
        _check_levelling(month)
        _check_interactions(month)


def _one_day(month: Month, day: int) -> None:
    """The day's runs, then its maintenance, each checked."""
    midnight = DAY0 + timedelta(days=day)
    pipe = month.pipe
    poll_seconds = pipe.spec()[0].live_poll_seconds
    assert polling_window(midnight + LIVE_INTERVAL + FIFTEEN, poll_seconds).deadline < midnight + LIVE_AT
    month.run(midnight + LIVE_INTERVAL, midnight + LIVE_AT, "live_status")
    month.run(midnight + STATUS_INTERVAL, midnight + STATUS_INTERVAL + FIFTEEN - MS, "agent_status")
    failed = None
    if day in FAILING_DAYS:
        with psycopg.connect(month.uri) as blocker:
            # The lock CREATE INDEX (without CONCURRENTLY) holds: readers pass, writers wait.
            blocker.execute(
                sql.SQL("LOCK TABLE {}.interactions IN SHARE MODE").format(sql.Identifier(SCHEMA))
            )
            failed = month.run(
                midnight + FAILED_INTERVAL, midnight + FAILED_AT, "interactions", expect="failed"
            )
            blocker.rollback()
        states = {ti.task_id: str(ti.state) for ti in failed.get_task_instances()}
        assert states["transform"] == "success", states
        assert states["load"] == "failed", states
    month.run(midnight + IMPORTED_INTERVAL, midnight + IMPORTED_AT, "interactions")

    with psycopg.connect(month.uri, autocommit=True) as conn:
        new_reports = month.date_reports(conn, day)
        written = month.by_day(conn)
    if failed is not None:
        assert _extracted_report(pipe, failed.run_id) in new_reports, "the failed run left nothing behind"
    for table, counts in written.items():
        # A row dated after today was stamped by another clock (the server lost its clock file).
        assert set(counts) <= set(range(day + 1)), (table, day, counts)
        month.written.setdefault(table, {})[day] = counts[day]
        # The runs removed nothing of the earlier days that the day's maintenance keeps.
        earlier = range(max(0, day - KEPT_DAYS[table] + 1), day)
        assert [counts[d] for d in earlier] == [month.written[table][d] for d in earlier], (table, day)
    every_day = ("load_runs", "agent_status_live_log", "dq_results", "raw_report_pages", "stg_status_events")
    for table in every_day + (("stg_interactions",) if failed is not None else ()):
        assert month.written[table][day] > 0, (table, day)

    before = {table: sum(counts.values()) for table, counts in written.items()}
    deleted = month.maintain(midnight + MAINTENANCE_AT)
    with psycopg.connect(month.uri, autocommit=True) as conn:
        kept = month.by_day(conn)
        cutoff = midnight + MAINTENANCE_AT - timedelta(hours=STAGING_HOURS)
        stale = _stale_staging(conn, cutoff)
    assert stale == dict.fromkeys(STAGING, 0), (day, stale)
    for table, counts in kept.items():
        # Exactly the rows of the days the retention keeps, every one of them.
        assert dict(+counts) == _window(month.written[table], day, KEPT_DAYS[table]), (table, day)
        month.sizes.setdefault(table, []).append(counts.total())
        # The maintenance DAG's own account of what it deleted.
        assert deleted[table] == before[table] - counts.total(), (table, day, deleted)

    # The day's statuses equal 8x8's (a later day's import links their end times anew).
    statuses = pipe.against_truth().agent_statuses(
        midnight + STATUS_INTERVAL, midnight + STATUS_INTERVAL + FIFTEEN
    )
    assert statuses.expected, day
    assert statuses.ok, (day, statuses.describe())


def _extracted_report(pipe: Pipeline, run_id: str) -> int:
    rows = pipe.query(
        "SELECT report_id FROM {schema}.load_runs WHERE run_id = %s AND step = 'extract'"
        " AND status = 'success'",
        run_id,
    )
    (row,) = rows
    return int(row["report_id"])


def _check_levelling(month: Month) -> None:
    header = "day " + " ".join(f"{t[:14]:>14}" for t in month.sizes)
    lines = [
        f"{day:3d} " + " ".join(f"{sizes[day]:14d}" for sizes in month.sizes.values()) for day in range(DAYS)
    ]
    print("\nrows after each day's maintenance:", header, *lines, sep="\n")
    for table, sizes in month.sizes.items():
        keep, written = KEPT_DAYS[table], month.written[table]
        # It grows while its retention has not passed yet ...
        assert sizes[: keep - 1] == sorted(sizes[: keep - 1]), (table, sizes)
        # ... then it holds the last `keep` days, never more than the busiest `keep` days wrote,
        # while the month wrote much more.
        busiest = max(sum(written[d] for d in range(max(0, end - keep + 1), end + 1)) for end in range(DAYS))
        assert 0 < sizes[-1] <= max(sizes[keep - 1 :]) <= busiest, (table, sizes)
        assert busiest * 2 < sum(written.values()), (table, busiest, written)


def _check_interactions(month: Month) -> None:
    """Every day's fully read intervals (the failed one included) equal the simulator's truth as of
    the import; quarantined rows are there exactly for the days their retention keeps."""
    pipe = month.pipe
    check = pipe.against_truth()
    truth = pipe.sim.ground_truth()
    quarantined = {
        r["record_id"]
        for r in pipe.query("SELECT record_id FROM {schema}.rejected_rows WHERE source = 'interactions'")
    }
    kept: set[str] = set()
    pruned: set[str] = set()
    for day in range(DAYS):
        midnight = DAY0 + timedelta(days=day)
        start, end = (midnight + t for t in COMPARED)
        as_of = midnight + IMPORTED_AT
        interactions = check.interactions(start, end, as_of=as_of)
        assert interactions.expected, day
        assert interactions.ok, (day, interactions.describe())
        aht = check.interval_aht(start, end, as_of=as_of)
        assert aht.expected, day
        assert aht.ok, (day, aht.describe())
        bad = {
            r.interaction_id
            for r in truth.rejected_interactions(start, end, as_of=as_of)
            if not (r.kind == "missing_keys" and r.field == "interactionId")
        }
        (kept if day > DAYS - 1 - KEPT_DAYS["rejected_rows"] else pruned).update(bad)
    assert kept, "no malformed rows were injected into the kept days"
    assert pruned, "no malformed rows were injected into the pruned days"
    assert kept <= quarantined, kept - quarantined
    assert not pruned & quarantined, pruned & quarantined
