"""The ``<name>__live_status`` DAG: live agent status from 8x8's realtime API, for real-time adherence.

Built by :func:`build_live_status_dag` from an integration spec, like the factory builds the other
DAGs: only local, cheap work at parse time. The polling loop and its handover protocol live in
:mod:`acdflow.pipeline.live_status`; this module only wires tasks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from acdflow.config import IntegrationSpec, WarehouseSpec

LIVE_DOC = """\
### {name}: 8x8 live agent status → real-time adherence

Polls 8x8's realtime `GET /agents` (`status.rt`, `statusCode.rt`, `timeOnStatus.rt`,
`lastLogin.rt`, `lastLogout.rt`, `loggedInTime.rt`) of integration **{name}** (connection
`{conn_id}`) every **{poll} s** and keeps:

* `{schema}.agent_status_live`: one current row per agent — status name (`OnBreak (Lunch)`; no
  reason on `LoggedOut`), start = lastLogin + loggedInTime − timeOnStatus (LoggedOut: start = end
  = lastLogout), `observed_at` = wall-clock time of the poll that first saw this status;
* `{schema}.agent_status_live_log`: one row per observed **change** (not per poll), to replay
  adherence. A start that moved by ≤ 2 s with the same status name is not a change.

Agents with null inputs (e.g. never logged in) are skipped and counted (`skipped` in
`{schema}.load_runs`). `{schema}.live_poll_owner.heartbeat_at` shows that polling is alive.

**The loop.** Runs have 15-minute data intervals, catch-up off, at most 2 active. The
`poll_live_status` task of the run for `[S, E)` polls from `E` until `E + 15 min + {grace} s`
(grace = max(2 × poll interval, 60 s)). At start it claims `live_poll_owner`; a run of a later
interval takes over from the previous one, which stops within seconds, so consecutive runs hand
over without a gap or an overlap. A run whose window is already in the past (a manual run of an
old interval) polls exactly once. Each poll fetches all pages, maps them, then writes the
changed rows, the log rows and the owner heartbeat in one transaction; a poll by a run that lost
ownership writes nothing.

**Freshness.** A status change reaches `{schema}.agent_status_live` within one poll interval plus
the poll's latency (≈ {poll} s + < 1 s), also across handovers; required: 60 s. Configure with
`live_poll_seconds` (15–300).

**API cost** per hour with poll interval p s and A agents: (3600 / p) × ceil(A / 1000) `/agents`
requests + 2 token requests per run (`authenticate` and the poller's client; a token lives 30 min)
× 4 runs. Here: {per_hour} requests/hour at ≤ 1,000 agents (defaults 30 s: 120 + 8 = 128).

**Pool.** Both tasks use pool `{pool}` (2 slots), separate from the report DAGs' pool:
`poll_live_status` holds its slot for its whole run (about 15 minutes) and two runs overlap briefly
at each handover. With a single slot the next run would start only after the previous one ended
(a gap of the scheduler's start-up time).
"""


def build_live_status_dag(spec: IntegrationSpec, warehouse: WarehouseSpec) -> Any:
    """``<name>__live_status``: ``authenticate`` → ``poll_live_status`` (the polling loop)."""
    from airflow.sdk import DAG

    from acdflow.factory import FIFTEEN_MINUTES, _timetable, default_args, lazy
    from acdflow.operators import StepOperator
    from acdflow.pipeline import live_timing as timing

    dag_id = spec.dag_id("live_status")
    grace = timing.handover_grace(spec.live_poll_seconds)
    authenticate_body = lazy("acdflow.pipeline.reports", "authenticate")
    poll_body = lazy("acdflow.pipeline.live_status", "poll_live_status")
    with DAG(
        dag_id=dag_id,
        description=f"8x8 live agent status for {spec.name}, every {spec.live_poll_seconds} s",
        schedule=_timetable(),
        start_date=spec.start_date,
        end_date=spec.end_date - FIFTEEN_MINUTES if spec.end_date else None,
        # Polling the past is meaningless: only the latest interval runs.
        catchup=False,
        # The next run starts while the previous one still polls, and takes over from it.
        max_active_runs=2,
        max_active_tasks=16,
        max_consecutive_failed_dag_runs=0,
        default_args=default_args(spec),
        tags=["8x8", spec.name, "acdflow", "live_status", *spec.tags],
        doc_md=LIVE_DOC.format(
            name=spec.name,
            conn_id=spec.conn_id,
            schema=warehouse.schema,
            poll=spec.live_poll_seconds,
            grace=int(grace.total_seconds()),
            per_hour=timing.api_requests_per_hour(spec.live_poll_seconds, 1000),
            pool=spec.live_pool,
        ),
    ) as dag:
        authenticate = StepOperator(
            task_id="authenticate",
            spec=spec,
            warehouse=warehouse,
            body=lambda run, uri, prev, ctx: authenticate_body(spec, run),
            pool=spec.live_pool,
        )
        poll = StepOperator(
            task_id="poll_live_status",
            spec=spec,
            warehouse=warehouse,
            body=lambda run, uri, prev, ctx: poll_body(spec, warehouse, run, uri),
            upstream_task_id="authenticate",
            pool=spec.live_pool,
            # The loop ends by itself at its deadline; this only stops a task hung beyond it.
            execution_timeout=timing.POLL_WINDOW + grace + timedelta(minutes=10),
        )
        authenticate >> poll
    return dag
