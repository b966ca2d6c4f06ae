"""End-to-end harness: the real DAGs, run with ``dag.test()``, against the 8x8 simulator over HTTP
and a real PostgreSQL warehouse. Nothing is mocked; the simulator's ground truth is the oracle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import dict_row

from acdflow.config import IntegrationSpec, WarehouseSpec, parse_config
from acdflow_dev.compare import Comparer, TableDiff
from acdflow_dev.connections import eightbyeight_conn
from acdflow_dev.embedded import airflow_conn_from_uri
from acdflow_dev.sim import SimConfig, Simulator

FIFTEEN = timedelta(minutes=15)
CLIENT_ID = "e2e-client"
CLIENT_SECRET = "e2e-secret-Zq81"  # recognisable, so leak scans can look for it


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def intervals(start: datetime, count: int) -> list[datetime]:
    return [start + i * FIFTEEN for i in range(count)]


@dataclass
class Pipeline:
    """One integration wired to a simulator tenant and a warehouse schema."""

    name: str
    sim: Simulator
    base_url: str
    warehouse_uri: str
    schema: str
    tmp: Path
    region: str
    timezone: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def conn_id(self) -> str:
        return f"eightbyeight_{self.name}"

    @property
    def warehouse_conn_id(self) -> str:
        return f"wh_{self.name}"

    def env(self) -> dict[str, str]:
        eight = eightbyeight_conn(
            self.base_url, CLIENT_ID, CLIENT_SECRET, region=self.region, timezone=self.timezone
        )
        warehouse = airflow_conn_from_uri(self.warehouse_uri)
        return {
            f"AIRFLOW_CONN_{self.conn_id.upper()}": json.dumps(eight),
            f"AIRFLOW_CONN_{self.warehouse_conn_id.upper()}": json.dumps(warehouse),
            "ACDFLOW_INTEGRATIONS": str(self.config_path),
        }

    @property
    def config_path(self) -> Path:
        return self.tmp / f"integrations-{self.name}.yaml"

    def write_config(self) -> None:
        entry = {
            "name": self.name,
            "system": "8x8",
            "conn_id": self.conn_id,
            "start_date": "2026-01-01",
            **self.options,
        }
        document = {
            "warehouse": {"conn_id": self.warehouse_conn_id, "schema": self.schema},
            "integrations": [entry],
        }
        self.config_path.write_text(yaml.safe_dump(document))

    def spec(self) -> tuple[IntegrationSpec, WarehouseSpec]:
        result = parse_config(yaml.safe_load(self.config_path.read_text()), path=self.config_path)
        assert result.issues == (), result.issues
        (spec,) = result.integrations
        return spec, result.warehouse

    @contextmanager
    def environment(self) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def dag(self, kind: str = "interactions") -> Any:
        from acdflow import factory

        spec, warehouse = self.spec()
        if kind == "history":
            return factory.build_history_dag(spec, warehouse)
        (dag_kind,) = (k for k in factory.KINDS if k.name == kind)
        return factory.build_dag(spec, warehouse, dag_kind)

    def run(
        self,
        interval_start: datetime,
        *,
        clock: datetime | None = None,
        kind: str = "interactions",
        expect: str = "success",
    ) -> Any:
        """Run the DAG for ``[interval_start, interval_start + 15 min)``; check it ends as expected."""
        if clock is not None:
            self.sim.clock.set(clock)
        with self.environment():
            dag_run = self.dag(kind).test(logical_date=interval_start + FIFTEEN)
        assert dag_run.data_interval_start == interval_start
        assert dag_run.data_interval_end - dag_run.data_interval_start == FIFTEEN
        assert str(dag_run.state) == expect, f"{dag_run.dag_id} {interval_start}: {dag_run.state}"
        return dag_run

    def run_day(self, day: datetime, *, expect: str = "success") -> Any:
        """Run the history DAG for the UTC day ``[day, day + 1 day)``; check it ends as expected."""
        with self.environment():
            dag_run = self.dag("history").test(logical_date=day + timedelta(days=1))
        assert (dag_run.data_interval_start, dag_run.data_interval_end) == (day, day + timedelta(days=1))
        assert str(dag_run.state) == expect, f"{dag_run.dag_id} {day}: {dag_run.state}"
        return dag_run

    # -- warehouse reads ---------------------------------------------------------------------------

    def against_truth(self) -> Comparer:
        """This integration's warehouse rows, to compare with the simulator's ground truth."""
        return Comparer(self.warehouse_uri, self.schema, self.name, self.sim.ground_truth())

    def query(self, text: str, *params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(self.warehouse_uri, row_factory=dict_row) as conn:
            composed = sql.SQL(text).format(schema=sql.Identifier(self.schema))
            return conn.execute(composed, params).fetchall()

    def execute(self, text: str, *params: Any) -> None:
        with psycopg.connect(self.warehouse_uri) as conn:
            conn.execute(sql.SQL(text).format(schema=sql.Identifier(self.schema)), params)

    def interactions(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return self.query(
            "SELECT * FROM {schema}.interactions"
            " WHERE integration = %s AND queue_time >= %s AND queue_time < %s"
            " ORDER BY queue_time, interaction_id",
            self.name,
            start,
            end,
        )

    def snapshot(self, table: str, exclude: tuple[str, ...] = ()) -> list[str]:
        rows = self.query(f"SELECT * FROM {{schema}}.{table} WHERE integration = %s", self.name)
        return sorted(
            json.dumps({k: v for k, v in r.items() if k not in exclude}, default=str, sort_keys=True)
            for r in rows
        )

    def checksum(self, table: str, exclude: tuple[str, ...] = ()) -> str:
        import hashlib

        canon = self.snapshot(table, exclude)
        return hashlib.sha256("\n".join(canon).encode()).hexdigest() + f":{len(canon)}"


# Which load wrote a row (and when its report was created) is not part of the row's content.
PROVENANCE = ("loaded_at", "report_id", "report_created_at")


def simulator(
    timezone: str,
    region: str,
    *,
    seed: int = 11,
    scale: int = 3000,
    faults: str = "",
    now: datetime | None = None,
    **config: Any,
) -> Simulator:
    cfg = SimConfig.single(
        tenant_id=f"tenant{seed}",
        region=region,
        timezone=timezone,
        scale=scale,
        seed=seed,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        faults=faults,
        now=now,
        **config,
    )
    return Simulator(cfg)


def start_pipeline(
    request: Any,
    tmp_path: Path,
    warehouse_uri: str,
    schema: str,
    *,
    name: str,
    timezone: str,
    region: str,
    clock: datetime | None = None,
    faults: str = "",
    scale: int = 3000,
    connection_timezone: str | None = None,
    sim_options: dict[str, Any] | None = None,
    pipeline_cls: type[Pipeline] = Pipeline,
    **options: Any,
) -> Any:
    """A simulator tenant served on loopback for the test, and an integration wired to it.
    ``options`` are integration keys of the YAML entry."""
    sim = simulator(timezone, region, faults=faults, now=clock, scale=scale, **(sim_options or {}))
    serving = sim.serve(host="127.0.0.1", port=0)
    server = serving.__enter__()
    request.addfinalizer(lambda: serving.__exit__(None, None, None))
    pipe = pipeline_cls(
        name=name,
        sim=sim,
        base_url=server.base_url,
        warehouse_uri=warehouse_uri,
        schema=schema,
        tmp=tmp_path,
        region=region,
        timezone=connection_timezone or timezone,
        options=options,
    )
    pipe.write_config()
    return pipe


def run_concurrently(
    pipe: Pipeline, dag_id: str, interval_start: datetime, airflow_db: Path, copies: int = 2
) -> None:
    """Run one interval of ``dag_id`` in ``copies`` separate Airflow processes at the same time
    (each with its own copy of the migrated metadata DB, as separate workers would) and check that
    every one of them succeeded."""
    from tests.conftest import airflow_env

    procs = []
    for i in range(copies):
        home = pipe.tmp / f"airflow-{dag_id}-{i}"
        home.mkdir()
        shutil.copy(airflow_db / "airflow.db", home / "airflow.db")
        env = {
            **os.environ,
            **airflow_env(),
            **pipe.env(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        }
        command = [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            dag_id,
            (interval_start + FIFTEEN).isoformat(),
        ]
        procs.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-4000:]


def compare_with_truth(pipe: Pipeline, start: datetime, end: datetime) -> None:
    """The warehouse equals the simulator's final state for [start, end): the exact row set and
    every field of every row (so the counts per interval, queue, channel and handled too), no key
    twice, and AHT to the millisecond."""
    check = pipe.against_truth()
    interactions = check.interactions(start, end)
    assert interactions.expected, "the simulator produced no traffic in the compared range"
    assert interactions.ok, interactions.describe()
    aht = check.interval_aht(start, end)
    assert aht.ok, aht.describe()
    assert any(channel == "call" for _, _, channel in aht.want)


def compare_statuses_with_truth(pipe: Pipeline, start: datetime, end: datetime, as_of: datetime) -> TableDiff:
    """The agent-status history of [start, end) equals the simulator's as of ``as_of``: the same
    (agent, start) keys, each once, with the same name, status, code, status name and end time."""
    statuses = pipe.against_truth().agent_statuses(start, end, as_of=as_of)
    assert statuses.expected, "no agent status changes in the compared range"
    assert statuses.ok, statuses.describe()
    return statuses
