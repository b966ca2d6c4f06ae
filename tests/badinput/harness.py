"""Run the real pipeline steps against a scripted 8x8 (real HTTP on loopback) and a real PostgreSQL.

The steps are the functions the Airflow tasks call (``acdflow.pipeline.*``); only the factory that
would read the Airflow connection is replaced, by one that returns a client pointed at the script
with millisecond backoff. Nothing below the client is faked: requests cross a socket, rows are
landed, transformed, staged and published by the package's own SQL.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acdflow import runtime
from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.eightbyeight import EightByEightClient, EightByEightSettings
from acdflow.pipeline import AGENT_STATUS_REPORT, INTERACTION_REPORT, agent_status, interactions, reports
from acdflow.pipeline.live_status import PollRecord, poll_once
from acdflow.pipeline.steps import Step
from acdflow.runtime import RunInfo
from acdflow.transform.agent_status import LiveSkip
from acdflow.warehouse import store
from acdflow_dev.embedded import airflow_conn_from_uri
from tests.client.scripted_server import Script, serve

# The data interval the runs import: 2025-11-18 17:00-17:15 UTC (09:00 in Los Angeles).
INTERVAL_START = datetime(2025, 11, 18, 17, 0, tzinfo=UTC)
# The UTC window the scripted report answers for, as trigger_report hands it on.
REPORT_WINDOW = (INTERVAL_START, INTERVAL_START + timedelta(minutes=15))
CLIENT_SECRET = "harness-secret-0042"
MAX_ATTEMPTS = 3


def make_client(base_url: str, integration: str) -> EightByEightClient:
    settings = EightByEightSettings(
        "harness-id",
        CLIENT_SECRET,
        "us",
        "America/Los_Angeles",
        base_url=base_url,
        integration=integration,
        timeout_s=5.0,
        max_attempts=MAX_ATTEMPTS,
        backoff_base_s=0.001,
        backoff_cap_s=0.002,
    )
    return EightByEightClient(settings)


def run_info(kind: str) -> RunInfo:
    return RunInfo(
        dag_id=f"acme__{kind}",
        run_id=f"scheduled__{INTERVAL_START.isoformat()}",
        task_id="transform",
        try_number=1,
        interval_start=INTERVAL_START,
        interval_end=INTERVAL_START + timedelta(minutes=15),
    )


@dataclass
class Pipeline:
    """One integration's pipeline, wired to a scripted 8x8 and a warehouse schema."""

    uri: str
    schema: str
    base_url: str
    integration: str = "acme"
    _conn: psycopg.Connection[Any] | None = field(default=None, repr=False)
    # The steps reach the warehouse as tasks do: through an Airflow connection id (PostgresHook).
    _conn_id: str = field(default_factory=lambda: f"wfm_{uuid.uuid4().hex[:10]}", repr=False)

    def __post_init__(self) -> None:
        os.environ[f"AIRFLOW_CONN_{self._conn_id.upper()}"] = json.dumps(airflow_conn_from_uri(self.uri))

    @property
    def spec(self) -> IntegrationSpec:
        # Built directly, not through the config parser: the hostile-name tests need names the
        # parser would refuse, to show the warehouse code never depends on that validation.
        return IntegrationSpec(
            name=self.integration, conn_id="eightbyeight_scripted", start_date=INTERVAL_START
        )

    @property
    def warehouse(self) -> WarehouseSpec:
        return WarehouseSpec(conn_id=self._conn_id, schema=self.schema)

    def import_interactions(self, report_id: int) -> dict[str, dict[str, Any]]:
        """extract → transform → load → aggregate_aht, as the interactions DAG runs them."""
        result = self._import(INTERACTION_REPORT, interactions, report_id)
        result["aggregate"] = interactions.aggregate_aht(self.step("interactions", result))
        return result

    def import_agent_status(self, report_id: int) -> dict[str, dict[str, Any]]:
        """extract → transform → load, as the agent-status DAG runs them."""
        return self._import(AGENT_STATUS_REPORT, agent_status, report_id)

    def step(self, kind: str, results: dict[str, dict[str, Any]]) -> Step:
        """The :class:`Step` a task of ``kind`` gets, its upstream results read from ``results``."""
        return Step(self.spec, self.warehouse, run_info(kind), results.get)

    def _import(self, report_type: str, steps: Any, report_id: int) -> dict[str, dict[str, Any]]:
        kind = "interactions" if report_type == INTERACTION_REPORT else "agent_status"
        results: dict[str, dict[str, Any]] = {
            "trigger_report": {
                "report_id": report_id,
                "report_type": report_type,
                "window_start": REPORT_WINDOW[0].isoformat(),
                "window_end": REPORT_WINDOW[1].isoformat(),
            },
            "wait_for_report": {"report_id": report_id},
        }
        step = self.step(kind, results)
        results["extract"] = reports.extract(step)
        results["transform"] = steps.transform(step)
        results["load"] = steps.load(step)
        return {k: results[k] for k in ("extract", "transform", "load")}

    def poll_live(self) -> tuple[PollRecord, list[LiveSkip]]:
        """One live-status poll without poll ownership, as the poller's loop body runs it."""
        with (
            make_client(self.base_url, self.integration) as client,
            store.connect(self.uri, self.schema) as conn,
        ):
            record, skipped = poll_once(client, conn, self.schema, integration=self.integration, run_id=None)
        assert record is not None  # without ownership a poll always commits
        return record, skipped

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``statement``, where ``{schema}`` stands for this pipeline's schema."""
        if self._conn is None:
            self._conn = psycopg.connect(self.uri, autocommit=True)
        composed = sql.SQL(statement).format(schema=sql.Identifier(self.schema))
        return [tuple(r) for r in self._conn.execute(composed, params).fetchall()]

    def close(self) -> None:
        os.environ.pop(f"AIRFLOW_CONN_{self._conn_id.upper()}", None)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def tables(self) -> list[str]:
        return [
            str(r[0])
            for r in self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
                self.schema,
            )
        ]


def use_scripted_clients(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    """Make the pipeline steps' client factory return clients of the scripted 8x8."""
    monkeypatch.setattr(
        runtime, "eightbyeight_client", lambda conn_id, integration: make_client(base_url, integration)
    )


@contextmanager
def scripted_pipeline(
    monkeypatch: pytest.MonkeyPatch, uri: str, schema: str, integration: str = "acme"
) -> Iterator[tuple[Pipeline, Script]]:
    """A pipeline whose 8x8 is a fresh :class:`Script` served on loopback."""
    script = Script()
    with serve(script) as base_url:
        use_scripted_clients(monkeypatch, base_url)
        pipeline = Pipeline(uri=uri, schema=schema, base_url=base_url, integration=integration)
        try:
            yield pipeline, script
        finally:
            pipeline.close()


@contextmanager
def module_schema(uri: str) -> Iterator[str]:
    """A migrated warehouse schema shared by many tests, dropped at the end."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with store.connect(uri, schema):
        pass
    try:
        yield schema
    finally:
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
