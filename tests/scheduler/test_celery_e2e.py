"""acdflow on Airflow's CeleryExecutor: scheduler, DAG processor, triggerer, API server and two
Celery workers as separate processes, a real Redis as the broker, the metadata database and the
warehouse in PostgreSQL, three integrations against the simulator.

The report DAGs of the three integrations catch up the last two hours while their live-status DAGs
poll. Then:

* the warehouse equals the simulator's ground truth for the caught-up intervals (interactions,
  AHT and agent statuses, ``acdflow_dev.compare``);
* both workers ran report tasks (``task_instance.hostname`` names each worker);
* while the report DAGs ran, every integration's live poller kept polling: its heartbeat, written
  in the same transaction as each snapshot, was never older than two poll intervals, and every
  status change it logged was observed within two poll intervals of happening;
* the poll holds no worker slot: whenever it was checked, the task instance of the run that held
  the poll was ``deferred`` (its polling runs in the triggerer).

Time: the simulator's clock runs two days ahead of the wall clock. The report DAGs import the
last two hours by the wall clock, which for the simulator are two days old: every interaction in
them has ended, so its final state is what a correct import must hold. The live poll reads the
simulator's present, and a change that happened at simulator time ``t`` happened at wall-clock
time ``t - 2 days``, which is what its freshness is measured against.

Opt-in (``make test-e2e``); needs Debian's ``redis-server``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from acdflow_dev.compare import compare
from acdflow_dev.connections import eightbyeight_conn
from acdflow_dev.embedded import airflow_conn_from_uri
from acdflow_dev.local.redis import RedisServer
from acdflow_dev.local.runner import (
    AirflowStackError,
    CeleryWorker,
    LocalAirflow,
    ensure_database,
)
from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.config import TenantConfig
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]

HOURS = 2
INTERVALS = HOURS * 4
SCALE = 4000  # interactions per day and tenant
AGENTS = 30
POLL_SECONDS = 30
FRESH = timedelta(seconds=2 * POLL_SECONDS)
SIM_AHEAD = timedelta(days=2)
REPORT_KINDS = ("interactions", "agent_status")
WORKERS = (CeleryWorker("acdflow-worker-a"), CeleryWorker("acdflow-worker-b"))
FIRST_POLL_WITHIN = timedelta(minutes=3)
CHECK_EVERY = 10.0  # seconds between two looks at the runs and the live poll
CATCH_UP_TIMEOUT = 900.0


@dataclass(frozen=True)
class Tenant:
    name: str  # the integration
    region: str
    timezone: str

    @property
    def tenant_id(self) -> str:
        return self.name.replace("_", "") + "01"

    @property
    def conn_id(self) -> str:
        return f"eightbyeight_{self.name}"

    def dag_id(self, kind: str) -> str:
        return f"{self.name}__{kind}"


# One credential for the three tenants, so every request must name its tenant (X-Tenant-Info).
TENANTS = (
    Tenant("cel_chicago", "us", "America/Chicago"),
    Tenant("cel_berlin", "eu", "Europe/Berlin"),
    Tenant("cel_sydney", "au", "Australia/Sydney"),
)
REPORT_DAGS = [t.dag_id(k) for t in TENANTS for k in REPORT_KINDS]
LIVE_DAGS = [t.dag_id("live_status") for t in TENANTS]


@dataclass(frozen=True)
class LiveSample:
    """One look at an integration's live poll while report runs were running."""

    integration: str
    at: datetime
    owner_run: str | None  # the run holding the poll, None before the first claim
    heartbeat_age_s: float | None  # on the warehouse's clock
    ti_state: str | None  # of that run's poll_live_status task

    @property
    def ok(self) -> bool:
        return (
            self.heartbeat_age_s is not None
            and self.heartbeat_age_s <= FRESH.total_seconds()
            and self.ti_state == "deferred"
        )


def _window() -> tuple[datetime, datetime]:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 15)
    return end - timedelta(hours=HOURS), end


def _simulator() -> Simulator:
    tenants = tuple(
        TenantConfig(t.tenant_id, t.region, t.timezone, scale=SCALE, agents=AGENTS) for t in TENANTS
    )
    sim = Simulator(SimConfig(seed=23, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenants=tenants))
    sim.clock.advance(SIM_AHEAD)
    return sim


def _write_integrations(path: Path, schema: str, first: datetime) -> None:
    document = {
        "warehouse": {"conn_id": "wfm_warehouse", "schema": schema},
        "integrations": [
            {
                "name": t.name,
                "system": "8x8",
                "conn_id": t.conn_id,
                "start_date": first.isoformat(),
                "api_concurrency": 2,
                "live_poll_seconds": POLL_SECONDS,
                # The 48-hour settle run stays out of the window (and of the next hours).
                "settle_hour_utc": (first.hour + 12) % 24,
            }
            for t in TENANTS
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _environment(base_url: str, warehouse_uri: str, integrations: Path) -> dict[str, str]:
    env = {
        "AIRFLOW_CONN_WFM_WAREHOUSE": json.dumps(airflow_conn_from_uri(warehouse_uri)),
        "ACDFLOW_INTEGRATIONS": str(integrations),
        # Only the DAGs of the test run: the maintenance DAG stays paused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    for t in TENANTS:
        connection = eightbyeight_conn(
            base_url, CLIENT_ID, CLIENT_SECRET, region=t.region, timezone=t.timezone, tenant_id=t.tenant_id
        )
        env[f"AIRFLOW_CONN_{t.conn_id.upper()}"] = json.dumps(connection)
    return env


@contextlib.contextmanager
def _celery_airflow(
    tmp_path: Path, warehouse_uri: str, schema: str, first: datetime
) -> Iterator[tuple[LocalAirflow, Simulator]]:
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(RedisServer(tmp_path / "redis"))
        sim = _simulator()
        server = stack.enter_context(sim.serve(host="127.0.0.1", port=0))
        integrations = tmp_path / "integrations.yaml"
        _write_integrations(integrations, schema, first)
        airflow = LocalAirflow(
            home=tmp_path / "airflow",
            metadata_conninfo=ensure_database(warehouse_uri, f"airflow_{schema}"),
            extra_env=_environment(server.base_url, warehouse_uri, integrations),
            executor="CeleryExecutor",
            broker_url=redis.url(0),
            workers=WORKERS,
            # The shipped local settings, as a deployment installs them: the workers import the
            # task libraries once, before they fork the tasks (acdflow.preload).
            preload=True,
        )
        stack.callback(airflow.stop)
        airflow.migrate()
        from acdflow.config import load_config

        airflow.import_pools(p for spec in load_config(integrations).integrations for p in spec.pools())
        airflow.start()
        yield airflow, sim


# -- reading the metadata database and the warehouse ----------------------------------------------


def _window_runs(airflow: LocalAirflow, first: datetime, last_end: datetime) -> dict[str, dict[str, int]]:
    rows = airflow.query(
        "SELECT dag_id, state, count(*) FROM dag_run WHERE dag_id = ANY(%s)"
        " AND data_interval_start >= %s AND data_interval_end <= %s GROUP BY dag_id, state",
        REPORT_DAGS,
        first,
        last_end,
    )
    states: dict[str, dict[str, int]] = {d: {} for d in REPORT_DAGS}
    for dag_id, state, n in rows:
        states[dag_id][str(state)] = int(n)
    return states


def _report_runs_running(airflow: LocalAirflow) -> int:
    rows = airflow.query(
        "SELECT count(*) FROM dag_run WHERE dag_id = ANY(%s) AND state IN ('queued', 'running')", REPORT_DAGS
    )
    return int(rows[0][0])


def _failures(airflow: LocalAirflow) -> str:
    rows = airflow.query(
        "SELECT dag_id, run_id, task_id, try_number, hostname FROM task_instance"
        " WHERE state IN ('failed', 'up_for_retry', 'upstream_failed') ORDER BY dag_id, run_id, task_id"
    )
    logs = "\n".join(f"--- {w.component}:\n{airflow.log_tail(w.component, 2000)}" for w in WORKERS)
    return "\n".join(map(str, rows)) + "\n" + logs


def _warehouse(uri: str, text: str, schema: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri, autocommit=True) as conn:
        return conn.execute(sql.SQL(text).format(schema=sql.Identifier(schema)), params).fetchall()


def _live_samples(airflow: LocalAirflow, warehouse_uri: str, schema: str) -> list[LiveSample]:
    now = datetime.now(UTC)
    owners: dict[str, tuple[str, float]] = {}
    if _warehouse(warehouse_uri, "SELECT to_regclass(%s)", schema, f"{schema}.live_poll_owner")[0][0]:
        rows = _warehouse(
            warehouse_uri,
            "SELECT integration, run_id, extract(epoch FROM clock_timestamp() - heartbeat_at)"
            " FROM {schema}.live_poll_owner",
            schema,
        )
        owners = {str(name): (str(run_id), float(age)) for name, run_id, age in rows}
    samples = []
    for t in TENANTS:
        run_id, age = owners.get(t.name, (None, None))
        state = None
        if run_id is not None:
            ti = airflow.query(
                "SELECT state FROM task_instance"
                " WHERE dag_id = %s AND run_id = %s AND task_id = 'poll_live_status'",
                t.dag_id("live_status"),
                run_id,
            )
            state = str(ti[0][0]) if ti else None
        samples.append(LiveSample(t.name, now, run_id, age, state))
    return samples


def _catch_up(
    airflow: LocalAirflow, warehouse_uri: str, schema: str, first: datetime, last_end: datetime
) -> list[LiveSample]:
    """Until every report DAG has run the window's intervals; looks at the live poll meanwhile."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    samples: list[LiveSample] = []
    while True:
        states = _window_runs(airflow, first, last_end)
        if any(s.get("failed") for s in states.values()):
            raise AssertionError(f"report runs failed: {states}\n{_failures(airflow)}")
        if all(s.get("success", 0) == INTERVALS for s in states.values()):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"not caught up in {CATCH_UP_TIMEOUT:.0f} s: {states}\n{_failures(airflow)}")
        if _report_runs_running(airflow):
            samples += _live_samples(airflow, warehouse_uri, schema)
        time.sleep(CHECK_EVERY)


def _settled_status_as_of(airflow: LocalAirflow, name: str) -> datetime:
    """The end of what the agent-status runs have read, once none of them is running: a later run
    than the window's (a new interval came due) closes statuses still open at the window's end."""
    dag_id = f"{name}__agent_status"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        rows = airflow.query(
            "SELECT count(*) FILTER (WHERE state IN ('queued', 'running')), max(data_interval_end)"
            " FILTER (WHERE state = 'success') FROM dag_run WHERE dag_id = %s",
            dag_id,
        )
        running, last = rows[0]
        if not running:
            return last - timedelta(milliseconds=1)  # type: ignore[no-any-return]
        time.sleep(3)
    raise AirflowStackError(f"{dag_id}: a run was still running after 300 s")


# -- the test --------------------------------------------------------------------------------------


def test_celery_workers_catch_up_three_integrations_while_live_status_polls(
    tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    first, last_end = _window()
    schema = fresh_schema
    began = time.monotonic()
    with _celery_airflow(tmp_path, warehouse_uri, schema, first) as (airflow, sim):
        started = time.monotonic()
        airflow.set_paused([*LIVE_DAGS, *REPORT_DAGS], paused=False)
        reports_from = datetime.now(UTC)
        samples = _catch_up(airflow, warehouse_uri, schema, first, last_end)
        reports_to = datetime.now(UTC)
        caught_up = time.monotonic()
        print(
            f"\nstack up in {started - began:.0f} s, caught up {len(REPORT_DAGS) * INTERVALS} runs in"
            f" {caught_up - started:.0f} s, {len(samples)} looks at the live poll\n" + _task_timings(airflow)
        )

        # The warehouse equals the ground truth for the window. A run of a later interval may have
        # come due meanwhile: interactions re-read are final and unchanged, and statuses are
        # compared as of the end of what the agent-status runs read (retried while a run started
        # during the comparison, which might have changed what it read).
        for t in TENANTS:
            for _attempt in range(3):
                as_of = _settled_status_as_of(airflow, t.name)
                diff = compare(
                    warehouse_uri, schema, t.name, sim.ground_truth(t.tenant_id), first, last_end,
                    status_as_of=as_of,
                )  # fmt: skip
                if _settled_status_as_of(airflow, t.name) == as_of:
                    break
            assert diff.interactions.expected > 0, t.name
            assert diff.agent_statuses.expected > 0, t.name
            assert diff.ok, f"{t.name}:\n{diff.describe()}"

        # Both workers ran report tasks, and only workers ran them.
        hosts = dict(
            airflow.query(
                "SELECT hostname, count(*) FROM task_instance WHERE dag_id = ANY(%s) AND state = 'success'"
                " GROUP BY hostname",
                REPORT_DAGS,
            )
        )
        assert set(hosts) == {w.name for w in WORKERS}, hosts

        # The live poll kept the live tables fresh while the report DAGs ran, from the triggerer.
        changes = _live_changes(warehouse_uri, schema, reports_from, reports_to)
        print(f"report tasks per worker {hosts}; {len(changes)} live changes while they ran")
        _assert_live_fresh(airflow, samples, changes, reports_from)


def _task_timings(airflow: LocalAirflow) -> str:
    """Per task: how many ran, how long they waited between queued and started, and ran."""
    rows = airflow.query(
        "SELECT split_part(dag_id, '__', 2), task_id, count(*), avg(wait), max(wait), avg(duration),"
        " max(duration) FROM (SELECT *, extract(epoch FROM start_date - queued_dttm) AS wait"
        " FROM task_instance WHERE state = 'success') ti GROUP BY 1, 2 ORDER BY 1, 2"
    )
    lines = ["kind / task: count, queued→started mean/max s, duration mean/max s"]
    for kind, task, n, wait, wait_max, took, took_max in rows:
        lines.append(
            f"  {kind}/{task}: {n}, {float(wait or 0):.1f}/{float(wait_max or 0):.1f},"
            f" {float(took or 0):.1f}/{float(took_max or 0):.1f}"
        )
    return "\n".join(lines)


def _live_changes(
    warehouse_uri: str, schema: str, since: datetime, until: datetime
) -> list[tuple[str, str, timedelta]]:
    """Status changes logged while the report DAGs ran, after each integration's first poll (which
    logs every agent's current status, however old): (integration, agent, observed − happened)."""
    rows = _warehouse(
        warehouse_uri,
        "SELECT l.integration, l.agent_id, l.start_time, l.observed_at FROM {schema}.agent_status_live_log l"
        " WHERE l.observed_at > (SELECT min(f.observed_at) FROM {schema}.agent_status_live_log f"
        "                        WHERE f.integration = l.integration)"
        " AND l.observed_at BETWEEN %s AND %s",
        schema,
        since,
        until,
    )
    return [(name, agent, observed - (start - SIM_AHEAD)) for name, agent, start, observed in rows]


def _assert_live_fresh(
    airflow: LocalAirflow,
    samples: list[LiveSample],
    changes: list[tuple[str, str, timedelta]],
    since: datetime,
) -> None:
    for t in TENANTS:
        mine = [s for s in samples if s.integration == t.name]
        polling = [s for s in mine if s.owner_run is not None]
        tasks = _live_tasks(airflow, t)
        assert len(polling) >= 3, f"{t.name}: the live poll was seen polling {len(polling)} times\n{tasks}"
        # The first poll came soon after the live DAG was unpaused, though every worker slot was
        # wanted by the catch-up (generous: two tasks on the workers, then the first poll).
        assert polling[0].at - since <= FIRST_POLL_WITHIN, (
            f"{t.name}: first seen polling {polling[0].at - since} after the unpause\n{tasks}"
        )
        # From then on, every look found a fresh heartbeat and a deferred task.
        stale = [s for s in mine[mine.index(polling[0]) :] if not s.ok]
        assert not stale, f"{t.name}: live poll not fresh or not deferred: {stale}\n{tasks}"
    assert changes, "no live status change arrived while the report DAGs ran"
    late = [c for c in changes if not timedelta(seconds=-2) <= c[2] <= FRESH]
    assert not late, f"live changes observed later than {FRESH} after they happened: {late[:20]}"


def _live_tasks(airflow: LocalAirflow, tenant: Tenant) -> str:
    """The live DAG's task instances, for a failure message: when each was queued and started."""
    rows = airflow.query(
        "SELECT run_id, task_id, state, priority_weight, queued_dttm, start_date, end_date, hostname"
        " FROM task_instance WHERE dag_id = %s ORDER BY run_id, task_id",
        tenant.dag_id("live_status"),
    )
    head = "run_id, task_id, state, priority_weight, queued, started, ended, host"
    return "\n".join([head, *(", ".join(map(str, row)) for row in rows)])
