"""``include/sql/roles/least_privilege.sql`` against a real PostgreSQL.

The owner role migrates without any right on the database itself; the loader role runs a whole
interval's load (interactions with a quarantined row, historical and live agent statuses, the run
log, data-quality results) through the package's own warehouse functions, and is refused every
kind of DDL and every write a load never makes. The maintenance role runs every prune of the
maintenance DAG and is refused every write, and every delete of published data.
"""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from acdflow.pipeline import AGENT_STATUS_REPORT, INTERACTION_REPORT, agent_status, interactions
from acdflow.quality import DriftCheckResult, write_results
from acdflow.resources import SQL_DIR_ENV, sql_dir
from acdflow.transform.agent_status import live_statuses
from acdflow.warehouse import agent_status as status_store
from acdflow.warehouse import live, store
from acdflow.warehouse.migrate import MigrationPrivilegeError, apply_migrations, available_migrations
from acdflow.warehouse.sql import render
from tests.badinput.catalogue import (
    VALID_AGENT_A,
    VALID_AGENT_B,
    VALID_INTERACTION_A,
    VALID_INTERACTION_B,
    VALID_STATUS_A,
    VALID_STATUS_B,
    suspect,
    suspect_status,
)
from tests.badinput.harness import INTERVAL_START, Pipeline

INTEGRATION = "acme"
INTERVAL_END = INTERVAL_START + timedelta(minutes=15)


@dataclass(frozen=True)
class Roles:
    schema: str
    owner: str
    loader: str
    maintainer: str
    owner_uri: str
    loader_uri: str
    maintainer_uri: str
    admin_uri: str

    def grant(self) -> None:
        """Run the grant script as the administrator (what a DBA does)."""
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(
                render(
                    "roles/least_privilege.sql",
                    self.schema,
                    owner=self.owner,
                    loader=self.loader,
                    maintainer=self.maintainer,
                )
            )

    def admin(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            composed = sql.SQL(statement).format(schema=sql.Identifier(self.schema))
            return [tuple(r) for r in conn.execute(composed, params).fetchall()]


@pytest.fixture
def roles(warehouse_uri: str, fresh_schema: str) -> Iterator[Roles]:
    suffix = uuid.uuid4().hex[:8]
    owner, loader = f"acdflow_owner_{suffix}", f"acdflow_loader_{suffix}"
    maintainer = f"acdflow_maintainer_{suffix}"
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        may = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        if may.fetchone() != (True,):
            pytest.skip("the test warehouse user may not create roles")
    passwords = {
        owner: secrets.token_hex(12),
        loader: secrets.token_hex(12),
        maintainer: secrets.token_hex(12),
    }
    result = Roles(
        schema=fresh_schema,
        owner=owner,
        loader=loader,
        maintainer=maintainer,
        owner_uri=make_conninfo(warehouse_uri, user=owner, password=passwords[owner]),
        loader_uri=make_conninfo(warehouse_uri, user=loader, password=passwords[loader]),
        maintainer_uri=make_conninfo(warehouse_uri, user=maintainer, password=passwords[maintainer]),
        admin_uri=warehouse_uri,
    )
    try:
        result.grant()  # step 1: the roles and the schema
        with psycopg.connect(warehouse_uri, autocommit=True) as conn:
            for role, password in passwords.items():
                conn.execute(
                    sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
        yield result
    finally:
        with psycopg.connect(warehouse_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(fresh_schema)))
            for role in (maintainer, loader, owner):
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                if exists:
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _denied(uri: str, statement: str, schema: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        composed = sql.SQL(statement).format(schema=sql.Identifier(schema))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(composed)


def _upstream(report_type: str, *, report_id: int, rows: int) -> dict[str, dict[str, Any]]:
    """What the tasks before ``transform`` would have passed on for a report landed by hand."""
    window = {"window_start": INTERVAL_START.isoformat(), "window_end": INTERVAL_END.isoformat()}
    return {
        "trigger_report": {"report_id": report_id, "report_type": report_type, **window},
        "wait_for_report": {"report_id": report_id, "report_created_at": INTERVAL_END.isoformat()},
        "extract": {"report_id": report_id, "rows_fetched": rows},
    }


def _load_one_interval_as(uri: str, schema: str) -> None:
    """Everything the three DAGs write for one interval, through the package's warehouse code."""
    pipeline = Pipeline(uri=uri, schema=schema, base_url="http://127.0.0.1:9", integration=INTEGRATION)
    with store.connect(uri, schema) as conn:  # checks for pending migrations first, as every task does
        store.land_pages(
            conn,
            schema,
            integration=INTEGRATION,
            report_kind=INTERACTION_REPORT,
            report_id=1,
            pages=[
                store.LandingPage([VALID_INTERACTION_A, suspect(mediaType="Fax")]),
                store.LandingPage([VALID_INTERACTION_B]),
            ],
        )
        store.land_pages(
            conn,
            schema,
            integration=INTEGRATION,
            report_kind=AGENT_STATUS_REPORT,
            report_id=2,
            pages=[store.LandingPage([VALID_STATUS_A, VALID_STATUS_B, suspect_status(time="noon")])],
        )
    results = _upstream(INTERACTION_REPORT, report_id=1, rows=3)
    step = pipeline.step("interactions", results)
    results["transform"] = interactions.transform(step)
    results["load"] = interactions.load(step)
    interactions.aggregate_aht(step)
    status_results = _upstream(AGENT_STATUS_REPORT, report_id=2, rows=3)
    status_step = pipeline.step("agent_status", status_results)
    status_results["transform"] = agent_status.transform(status_step)
    agent_status.load(status_step)
    pipeline.close()
    with store.connect(uri, schema) as conn:
        # What the time-drift check reads, and what it writes.
        status_store.staged_observations(conn, schema, integration=INTEGRATION, report_id=2)
        status_store.live_history_pairs(
            conn, schema, integration=INTEGRATION, start=INTERVAL_START, end=INTERVAL_END
        )
        write_results(
            conn,
            schema,
            INTEGRATION,
            INTERVAL_START,
            INTERVAL_END,
            [
                DriftCheckResult(
                    check="offset", passed=True, observed_offset_minutes=None, details={"rows": 2}
                )
            ],
        )
        status_store.prune_staging(conn, schema, integration=INTEGRATION)
        # The live poller: take the poll, write a snapshot under the heartbeat, hand the poll back.
        now = INTERVAL_END + timedelta(minutes=1)
        assert live.claim(
            conn,
            schema,
            integration=INTEGRATION,
            run_id="run-1",
            window_start=INTERVAL_END,
            now=now,
            stale_after=timedelta(minutes=2),
        ).owned
        statuses, skipped = live_statuses([VALID_AGENT_A, VALID_AGENT_B], now)
        assert skipped == []
        with conn.transaction():
            assert live.heartbeat(conn, schema, integration=INTEGRATION, run_id="run-1", now=now)
            live.apply_snapshot(conn, schema, integration=INTEGRATION, statuses=statuses, observed_at=now)
        assert live.release(conn, schema, integration=INTEGRATION, run_id="run-1")
        store.record_step(
            conn,
            schema,
            store.StepRecord(
                integration=INTEGRATION,
                dag_id="acme__interactions",
                run_id="scheduled__x",
                step="load",
                try_number=1,
                interval_start=INTERVAL_START,
                interval_end=INTERVAL_END,
                duration_ms=12,
                rows_loaded=2,
            ),
        )


def test_loader_role_loads_an_interval_but_cannot_change_the_schema(roles: Roles) -> None:
    schema = roles.schema
    # The owner has no right on the database: it migrates the schema it was given, nothing more.
    assert roles.admin("SELECT has_database_privilege(%s, current_database(), 'CREATE')", roles.owner) == [
        (False,)
    ]
    with psycopg.connect(roles.owner_uri, autocommit=True) as conn:
        assert apply_migrations(conn, schema) == [m.version for m in available_migrations()]
    roles.grant()  # step 3: the loader's table rights

    _load_one_interval_as(roles.loader_uri, schema)

    counts = {
        table: roles.admin(f"SELECT count(*) FROM {{schema}}.{table} WHERE integration = %s", INTEGRATION)[0][
            0
        ]
        for table in (
            "interactions",
            "interval_aht",
            "rejected_rows",
            "agent_status_history",
            "agent_status_live",
            "agent_status_live_log",
            "dq_results",
            "load_runs",
        )
    }
    assert counts == {
        "interactions": 2,
        "interval_aht": 2,  # valid-a: a call at 16:45, valid-b: a chat at 17:00
        "rejected_rows": 2,  # the Fax interaction and the status row timed "noon"
        "agent_status_history": 2,
        "agent_status_live": 2,
        "agent_status_live_log": 2,
        "dq_results": 1,
        "load_runs": 1,
    }
    # The loader cleaned up after itself: the interactions report is gone from landing and staging;
    # the status report's page stays (two days) so a cleared drift check can re-validate it.
    assert roles.admin("SELECT report_id FROM {schema}.raw_report_pages") == [(2,)]
    for table in ("stg_interactions", "stg_rejected_rows"):
        assert roles.admin(f"SELECT count(*) FROM {{schema}}.{table} WHERE report_id = 1") == [(0,)], table

    loader = roles.loader_uri
    for statement in (
        "CREATE TABLE {schema}.evil (x int)",
        "CREATE VIEW {schema}.evil AS SELECT 1",
        "CREATE INDEX evil ON {schema}.interactions (queue_name)",
        "DROP TABLE {schema}.interactions",
        "ALTER TABLE {schema}.interactions ADD COLUMN evil int",
        "TRUNCATE {schema}.interactions",
        "DELETE FROM {schema}.interactions",
        "DELETE FROM {schema}.load_runs",
        "UPDATE {schema}.load_runs SET status = 'success'",
        "UPDATE {schema}.rejected_rows SET reason = ''",
        "DELETE FROM {schema}.agent_status_live_log",
        "INSERT INTO {schema}.schema_migrations (version, name) VALUES (9999, 'evil')",
        "DROP SCHEMA {schema} CASCADE",
        "CREATE SCHEMA evil",
    ):
        _denied(loader, statement, schema)
    # Without GRANT OPTION, PostgreSQL only warns; what matters is that nothing was granted.
    with psycopg.connect(loader, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT SELECT ON {}.interactions TO PUBLIC").format(sql.Identifier(schema)))
    assert roles.admin("SELECT has_table_privilege('public', %s, 'SELECT')", f"{schema}.interactions") == [
        (False,)
    ]

    # Every table of the schema is the owner's and appears in the script; the loader never holds
    # the rights that change more than rows, and no right at all on the schema beyond USAGE.
    tables = [
        r[0] for r in roles.admin("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", schema)
    ]
    assert "interactions" in tables
    for table in tables:
        qualified = f"{schema}.{table}"
        assert roles.admin("SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                           schema, table) == [(roles.owner,)]  # fmt: skip
        rights = roles.admin(
            "SELECT p FROM unnest(%s::text[]) AS p WHERE has_table_privilege(%s, %s, p)",
            ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
            roles.loader,
            qualified,
        )
        held = {r[0] for r in rights}
        assert "SELECT" in held, f"{table} is missing from include/sql/roles/least_privilege.sql"
        assert not held & {"TRUNCATE", "REFERENCES", "TRIGGER"}, (table, held)
    assert roles.admin(
        "SELECT has_schema_privilege(%s, %s, 'USAGE'), has_schema_privilege(%s, %s, 'CREATE')",
        roles.loader,
        schema,
        roles.loader,
        schema,
    ) == [(True, False)]


def test_grants_hand_over_tables_and_a_pending_migration_fails_clearly_for_the_loader(
    roles: Roles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = roles.schema
    # Migrations applied by the administrator rather than the owner: the script hands them over.
    with psycopg.connect(roles.admin_uri, autocommit=True) as conn:
        apply_migrations(conn, schema)
    roles.grant()
    assert roles.admin(
        "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tableowner <> %s", schema, roles.owner
    ) == [(0,)]
    roles.grant()  # idempotent: a second run changes nothing and fails on nothing

    # An upgrade brings a migration the DBA has not applied yet.
    upgraded = tmp_path / "sql"
    shutil.copytree(sql_dir(), upgraded)
    (upgraded / "migrations" / "9001_probe.sql").write_text("CREATE TABLE {schema}.probe (x integer);\n")
    monkeypatch.setenv(SQL_DIR_ENV, str(upgraded))

    with (
        psycopg.connect(roles.loader_uri, autocommit=True) as conn,
        pytest.raises(MigrationPrivilegeError) as caught,
    ):
        apply_migrations(conn, schema)
    message = str(caught.value)
    assert f"role {roles.loader!r}" in message
    assert "pending: 9001" in message
    assert "acdflow db migrate" in message
    assert roles.admin("SELECT to_regclass(%s)", f"{schema}.probe") == [(None,)]

    # The owner applies it without any right on the database; until the script lists the new
    # table, the loader cannot touch it.
    with psycopg.connect(roles.owner_uri, autocommit=True) as conn:
        assert apply_migrations(conn, schema) == [9001]
    roles.grant()
    _denied(roles.loader_uri, "SELECT * FROM {schema}.probe", schema)
    with psycopg.connect(roles.loader_uri, autocommit=True) as conn:
        assert apply_migrations(conn, schema) == []  # up to date: a read, no DDL


# Exactly what the maintenance role holds, per table; every other table of the schema: nothing.
MAINTAINER_RIGHTS = {
    "schema_migrations": {"SELECT"},
    "raw_report_pages": {"SELECT", "DELETE"},
    "stg_interactions": {"SELECT", "DELETE"},
    "stg_rejected_rows": {"SELECT", "DELETE"},
    "stg_status_events": {"SELECT", "DELETE"},
    "load_runs": {"SELECT", "DELETE"},
    "rejected_rows": {"SELECT", "DELETE"},
    "agent_status_live_log": {"SELECT", "DELETE"},
    "dq_results": {"SELECT", "DELETE"},
}


def test_maintenance_role_prunes_and_can_do_nothing_else(roles: Roles) -> None:
    from acdflow.config import MaintenanceSpec
    from acdflow.maintenance import run_all
    from tests.maintenance.seed import seed_cleared_extract, seed_completed_run, seed_failed_runs, tags

    schema = roles.schema
    with psycopg.connect(roles.owner_uri, autocommit=True) as conn:
        apply_migrations(conn, schema)
    roles.grant()
    _load_one_interval_as(roles.loader_uri, schema)  # published data the prunes must not touch
    published = {
        table: roles.admin(f"SELECT count(*) FROM {{schema}}.{table}")[0][0]
        for table in ("interactions", "interval_aht", "agent_status_history", "agent_status_live")
    }
    assert all(published.values()), published

    with psycopg.connect(roles.admin_uri, autocommit=True) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        # Tags 7 (a day old) and 400 (400 days old) stay clear of the loaded interval's report ids.
        for tag, age_days in ((7, 1), (400, 400)):
            at = now - timedelta(days=age_days)
            seed_completed_run(conn, schema, tag, at)
            seed_failed_runs(conn, schema, tag, at)
        seed_cleared_extract(conn, schema, 999_999)

    # As the maintenance role, through the same session the DAG opens (pending-migration check).
    with store.connect(roles.maintainer_uri, schema) as conn:
        summary = run_all(conn, schema, MaintenanceSpec())
    assert sum(n for s in summary.values() for n in s["deleted"].values()) > 0
    with psycopg.connect(roles.admin_uri, autocommit=True) as conn:
        for table in MAINTAINER_RIGHTS:
            if table != "schema_migrations":
                remaining = tags(conn, schema, table)
                # The day-old rows stay, the 400-day-old ones and the orphaned staging go.
                assert 7 in remaining, table
                assert not remaining & {400, 999_999}, table
    assert {
        table: roles.admin(f"SELECT count(*) FROM {{schema}}.{table}")[0][0] for table in published
    } == published

    maintainer = roles.maintainer_uri
    for statement in (
        "INSERT INTO {schema}.load_runs (integration, dag_id, run_id, step, try_number, interval_start,"
        " interval_end, duration_ms, status) VALUES ('x', 'x', 'x', 'x', 1, now(), now(), 1, 'success')",
        "UPDATE {schema}.load_runs SET status = 'failed'",
        "UPDATE {schema}.rejected_rows SET reason = ''",
        "INSERT INTO {schema}.raw_report_pages (integration, report_kind, report_id, page_index, row_count,"
        " body) VALUES ('x', 'x', 1, 0, 0, '[]')",
        "UPDATE {schema}.dq_results SET passed = true",
        "INSERT INTO {schema}.interactions (integration, interaction_id) VALUES ('x', 'x')",
        "UPDATE {schema}.interactions SET handled = false",
        "DELETE FROM {schema}.interactions",
        "DELETE FROM {schema}.agent_status_history",
        "DELETE FROM {schema}.interval_aht",
        "DELETE FROM {schema}.agent_status_live",
        "DELETE FROM {schema}.live_poll_owner",
        "DELETE FROM {schema}.report_coverage",
        "SELECT * FROM {schema}.interactions",
        "TRUNCATE {schema}.load_runs",
        "DELETE FROM {schema}.schema_migrations",
        "CREATE TABLE {schema}.evil (x int)",
        "CREATE INDEX evil ON {schema}.load_runs (step)",
        "DROP TABLE {schema}.load_runs",
    ):
        _denied(maintainer, statement, schema)

    tables = [
        r[0] for r in roles.admin("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", schema)
    ]
    assert set(MAINTAINER_RIGHTS) <= set(tables)
    for table in tables:
        rights = roles.admin(
            "SELECT p FROM unnest(%s::text[]) AS p WHERE has_table_privilege(%s, %s, p)",
            ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
            roles.maintainer,
            f"{schema}.{table}",
        )
        assert {r[0] for r in rights} == MAINTAINER_RIGHTS.get(table, set()), table
    assert roles.admin(
        "SELECT has_schema_privilege(%s, %s, 'USAGE'), has_schema_privilege(%s, %s, 'CREATE'),"
        " has_database_privilege(%s, current_database(), 'CREATE')",
        roles.maintainer,
        schema,
        roles.maintainer,
        schema,
        roles.maintainer,
    ) == [(True, False, False)]
