"""Names a user or 8x8 controls reach SQL only as parameters or as validated identifiers.

Queue, agent and status-code names come from 8x8 and are data: they go through the real pipeline
(scripted 8x8 on loopback, real PostgreSQL) and must come out byte for byte, with every table still
there. Integration names come from the integrations file: the parser refuses anything but a slug,
and even a name that skipped the parser is only ever a parameter. Schema and role names become
identifiers: anything outside ``[a-z_][a-z0-9_]*`` (or reserved by PostgreSQL) is refused before
any SQL runs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from acdflow.config import parse_config
from acdflow.warehouse import store
from acdflow.warehouse.migrate import apply_migrations
from acdflow.warehouse.sql import render
from tests.badinput.catalogue import LIVE_METRICS, VALID_STATUS_A
from tests.badinput.harness import INTERVAL_START, Pipeline, run_info, scripted_pipeline
from tests.client.scripted_server import AGENTS_PATH, Answer, Script, data_path, report_pages
from tests.transform.transform_testlib import agent, interaction, status_row

CAFE_COMPOSED = unicodedata.normalize("NFC", "Café")
CAFE_DECOMPOSED = unicodedata.normalize("NFD", "Café")  # looks the same, is another queue


def hostile_names(schema: str) -> list[str]:
    """Quotes, statement breaks and placeholders aimed at this very schema, plus unicode."""
    return [
        f"x'); DROP TABLE {schema}.interactions; --",
        f"'; DELETE FROM {schema}.interval_aht WHERE ''='",
        f'Robert"); DROP SCHEMA {schema} CASCADE; --',
        f"$$; DROP TABLE {schema}.rejected_rows; $$",
        "%(integration)s %s %%",
        "{schema}.interactions",
        "O'Brien \\' \\\\",
        "line one\nline two\ttab",
        "Поддержка ☎ «VIP»",
        "客服 📞",
        "עברית\u200f",
        CAFE_COMPOSED,
        CAFE_DECOMPOSED,
        # Each name is also sent as a status code: the longest code acdflow stores (longer ones are
        # quarantined, see the bad-input catalogue), in four-byte characters, the worst case for
        # the index keys it becomes part of.
        "📞" * 128,
    ]


@pytest.fixture
def scripted(
    monkeypatch: pytest.MonkeyPatch, warehouse_uri: str, fresh_schema: str
) -> Iterator[tuple[Pipeline, Script]]:
    with scripted_pipeline(monkeypatch, warehouse_uri, fresh_schema) as pair:
        yield pair


def _migrated_tables(pipeline: Pipeline) -> list[str]:
    with store.connect(pipeline.uri, pipeline.schema):
        pass
    return pipeline.tables()


def test_hostile_queue_agent_and_code_names_are_stored_verbatim(scripted: tuple[Pipeline, Script]) -> None:
    pipeline, script = scripted
    names = hostile_names(pipeline.schema)
    assert CAFE_COMPOSED != CAFE_DECOMPOSED
    tables = _migrated_tables(pipeline)

    rows = [interaction(interactionId=f"q{i}", queueName=name) for i, name in enumerate(names)]
    script.add(data_path(1), *report_pages([rows[:5], rows[5:]]))
    summary = pipeline.import_interactions(1)
    assert summary["transform"]["rows_rejected"] == 0

    statuses = [
        status_row(agentId=f"ag{i}", agent=name, statusCode=name, time="2025-11-18T09:00:00.000-08:00")
        for i, name in enumerate(names)
    ]
    script.add(data_path(2), *report_pages([statuses]))
    pipeline.import_agent_status(2)

    agents = [agent(LIVE_METRICS, id=f"ag{i}", name=name) for i, name in enumerate(names)]
    script.add(AGENTS_PATH, Answer(body=agents, headers={"X-Total-Pages": "1"}))
    record, skipped = pipeline.poll_live()
    assert (record.agents, skipped) == (len(names), [])

    assert pipeline.tables() == tables
    expected = {f"q{i}": name for i, name in enumerate(names)}
    stored = dict(
        pipeline.query(
            "SELECT interaction_id, queue_name FROM {schema}.interactions WHERE integration = 'acme'"
        )
    )
    assert stored == expected
    # Each name is its own AHT group, the two spellings of "Café" included: no normalisation.
    aht = pipeline.query(
        "SELECT queue_name, handled_count FROM {schema}.interval_aht WHERE integration = 'acme'"
    )
    assert sorted(aht) == sorted((name, 1) for name in names)
    history = pipeline.query(
        "SELECT agent_id, agent_name, status_code, status_name FROM {schema}.agent_status_history"
    )
    assert sorted(history) == sorted((f"ag{i}", n, n, f"OnBreak ({n})") for i, n in enumerate(names))
    live = pipeline.query("SELECT agent_id, agent_name FROM {schema}.agent_status_live")
    assert sorted(live) == sorted((f"ag{i}", n) for i, n in enumerate(names))
    assert pipeline.query("SELECT count(*) FROM {schema}.rejected_rows") == [(0,)]


def hostile_integrations(schema: str) -> list[str]:
    return [
        f"acme'); DROP TABLE {schema}.load_runs; --",
        "acme; SELECT pg_sleep(10)",
        'acme" OR "1"="1',
        "Acme US",
        "acmé",
        "%(report_id)s",
    ]


def test_hostile_integration_names_are_refused_by_config_and_inert_in_sql(
    monkeypatch: pytest.MonkeyPatch, warehouse_uri: str, fresh_schema: str
) -> None:
    names = hostile_integrations(fresh_schema)
    entries = [{"name": n, "conn_id": "eightbyeight_x", "start_date": "2026-11-01"} for n in names]
    result = parse_config({"integrations": entries}, path=Path("integrations.yaml"))
    assert result.integrations == ()
    assert [(i.field, "lower-case slug" in i.message) for i in result.issues] == [("name", True)] * len(names)

    # Defence in depth: a spec built without the parser still reaches SQL only as a parameter.
    tables: list[str] = []
    for name in names:
        with scripted_pipeline(monkeypatch, warehouse_uri, fresh_schema, integration=name) as (
            pipeline,
            script,
        ):
            tables = tables or _migrated_tables(pipeline)
            script.add(data_path(1), *report_pages([[interaction(interactionId="i1")]]))
            pipeline.import_interactions(1)
            script.add(data_path(2), *report_pages([[VALID_STATUS_A]]))
            pipeline.import_agent_status(2)
            with store.connect(warehouse_uri, fresh_schema) as conn:
                store.record_step(conn, fresh_schema, _step(name))
            assert pipeline.tables() == tables
    reader = Pipeline(uri=warehouse_uri, schema=fresh_schema, base_url="http://127.0.0.1:9")
    try:
        for table in ("interactions", "interval_aht", "agent_status_history", "load_runs"):
            stored = reader.query(f"SELECT integration FROM {{schema}}.{table} ORDER BY 1")
            assert [r[0] for r in stored] == sorted(names), table
    finally:
        reader.close()


def _step(integration: str) -> store.StepRecord:
    run = run_info("interactions")
    return store.StepRecord(
        integration=integration,
        dag_id=run.dag_id,
        run_id=run.run_id,
        step="load",
        try_number=1,
        interval_start=INTERVAL_START,
        interval_end=run.interval_end,
        duration_ms=1,
    )


HOSTILE_SCHEMAS = [
    'acd"; DROP SCHEMA public CASCADE; --',
    "acd; DROP TABLE x",
    "acd.interactions",
    "ACD",
    "acd-x",
    "päivä",
    "1acd",
    " acd",
    "acd\n",
    "",
    "a" * 64,
    "pg_catalog",
    "pg_temp",
    "pg_toast",
    "information_schema",
]


@pytest.mark.parametrize("schema", HOSTILE_SCHEMAS)
def test_hostile_warehouse_schema_names_are_refused_before_any_sql(schema: str, warehouse_uri: str) -> None:
    result = parse_config({"warehouse": {"schema": schema}}, path=Path("integrations.yaml"))
    (issue,) = result.issues
    assert issue.field == "warehouse.schema"
    assert "PostgreSQL schema name" in issue.message
    assert result.warehouse.schema == "acd"  # the refused name is not used

    with pytest.raises(ValueError, match="invalid warehouse schema name"):
        render("interactions/load.sql", schema)
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        schemas = "SELECT nspname FROM pg_namespace ORDER BY 1"
        before = conn.execute(schemas).fetchall()
        with pytest.raises(ValueError, match="invalid warehouse schema name"):
            apply_migrations(conn, schema)
        assert conn.execute(schemas).fetchall() == before


@pytest.mark.parametrize("role", ['acdflow"; DROP ROLE postgres; --', "Loader", "pg_loader", "x y", ""])
@pytest.mark.parametrize("placeholder", ["owner", "loader", "maintainer"])
def test_hostile_role_names_are_refused(role: str, placeholder: str) -> None:
    roles: dict[str, Any] = {
        "owner": "acdflow_owner",
        "loader": "acdflow_loader",
        "maintainer": "acdflow_maintainer",
        placeholder: role,
    }
    with pytest.raises(ValueError, match=f"invalid {placeholder} name"):
        render("roles/least_privilege.sql", "acd", **roles)
