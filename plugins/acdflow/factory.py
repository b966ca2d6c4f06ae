"""One factory: integration specs in, Airflow DAGs out.

Building a DAG does only local, cheap work: no network, no database, no Variables or Connections
(those are read by the tasks when they run). DAG files call :func:`build_all` and nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from acdflow.config import ConfigResult, IntegrationSpec, WarehouseSpec, load_config

FIFTEEN_MINUTES = timedelta(minutes=15)

SCHEDULE_CRON = "*/15 * * * *"

INTERACTIONS_DOC = """\
### {name}: 8x8 queue data → WFM warehouse

Imports calls, chats, e-mails and voicemails of the 8x8 integration **{name}** (connection
`{conn_id}`) every 15 minutes into `{schema}.interactions`, and average handle time per
interval, queue and channel into `{schema}.interval_aht`.

Each run covers one 15-minute data interval `[start, end)` in UTC and asks 8x8 for interactions
created in `[start − {lookback} min, end)`, so interactions that finish after their interval was
first imported still arrive (8x8 leaves ongoing interactions out of its reports). Once a day the
run of the {settle_hour:02d}:00 UTC interval re-reads {settle} hours, for interactions that stay
open longer (0 hours = disabled). Request times are
sent as tenant-local wall clock (8x8 reads them that way) — `correct_time_quirk: {quirk}`.

Steps: `authenticate` → `trigger_report` → `wait_for_report` → `extract` (raw pages into
`{schema}.raw_report_pages`) → `transform` (product rules; bad rows quarantined in
`{schema}.rejected_rows` with a reason) → `load` (keyed upsert, one transaction) →
`aggregate_aht` (recomputes every interval the load touched). Every step writes a row to
`{schema}.load_runs`.

**Re-running a range** is safe: loads are idempotent per interval. Clear the runs in the UI
(Browse → Dag Runs, filter, Clear) or from the command line:

    airflow tasks clear {dag_id} -s 2026-11-01T00:00 -e 2026-11-02T00:00 -y
    airflow backfill create --dag-id {dag_id} --from-date 2026-11-01T00:00 --to-date 2026-11-02T00:00 \\
        --reprocess-behavior completed
"""


# Failures that no retry can fix: wrong credentials, region or tenant id, a bad connection or
# integration entry. Retrying them only delays the alert and hammers 8x8's token endpoint.
NOT_RETRYABLE = (
    "acdflow.eightbyeight.errors.ConfigurationError",
    "acdflow.eightbyeight.errors.AuthenticationError",
    "acdflow.eightbyeight.errors.TenantHeaderError",
    "acdflow.config.ConfigError",
    # Drift is a finding about data already loaded; a retry would only repeat it.
    "acdflow.pipeline.TimeDriftError",
)


def retry_policy() -> Any:
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=list(NOT_RETRYABLE),
                action=RetryAction.FAIL,
                reason="configuration error: fix the connection or integration entry, then clear the task",
            )
        ]
    )


def lazy(module: str, name: str) -> Callable[..., Any]:
    """A step function imported when the task runs, not when the DAG file is parsed: the pipeline
    modules pull in psycopg, requests and the transforms, which parsing never needs."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = f"{module}.{name}"
    return call


def default_args(spec: IntegrationSpec) -> dict[str, Any]:
    from acdflow.alerts import failure_callbacks

    return {
        "owner": spec.owner,
        "retries": spec.retries,
        "retry_delay": timedelta(seconds=spec.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(seconds=spec.max_retry_delay_seconds),
        "retry_policy": retry_policy(),
        "on_failure_callback": failure_callbacks(spec),
    }


def _timetable() -> Any:
    from airflow.sdk import CronDataIntervalTimetable

    # A plain cron string has no data interval in Airflow 3 (start == end): the explicit
    # data-interval timetable gives every run exactly [start, start + 15 min).
    return CronDataIntervalTimetable(SCHEDULE_CRON, timezone="UTC")


AGENT_STATUS_DOC = """\
### {name}: 8x8 historical agent statuses → WFM warehouse

Imports the agent status changes of the 8x8 integration **{name}** (connection `{conn_id}`) every
15 minutes into `{schema}.agent_status_history`, for intraday adherence.

Each run covers one 15-minute data interval `[start, end)` in UTC and reads 8x8's
`detailed-reports-agent-status-change` events of `[start − {overlap} min, end)`. Every event starts
a status (`OnBreak (Lunch)`, `LoggedOut`, …) that lasts until the same agent's next event; an
agent's latest status stays open (`end_time` empty) until a later run brings the next event.
Request times are sent as tenant-local wall clock — `correct_time_quirk: {quirk}`.

Steps: `authenticate` → `trigger_report` → `wait_for_report` → `extract` → `transform` → `load`
→ `check_time_drift`: Great Expectations checks that the events fall in the requested UTC window,
carry the tenant's UTC offset, and agree with the live statuses; results go to
`{schema}.dq_results` and Data Docs. Drift {drift_effect}; the loaded data stays in place.

**Re-running a range** is safe (keyed upserts; end times are re-linked):

    airflow tasks clear {dag_id} -s 2026-11-01T00:00 -e 2026-11-02T00:00 -y
"""


def _report_dag(
    spec: IntegrationSpec,
    warehouse: WarehouseSpec,
    *,
    kind: str,
    description: str,
    doc_md: str,
    report_type: str,
    trigger: Callable[[IntegrationSpec, Any], dict[str, Any]],
    transform: Callable[..., dict[str, Any]],
    load: Callable[..., dict[str, Any]],
    final_task_id: str,
    final: Callable[[Any, str, Any, Mapping[str, Any]], dict[str, Any]],
) -> Any:
    """The shape every report DAG shares: authenticate → trigger_report → wait_for_report →
    extract → transform → load → ``final_task_id``, one task per step, linear."""
    from airflow.sdk import DAG

    from acdflow.operators import StepOperator

    authenticate = lazy("acdflow.pipeline.reports", "authenticate")
    wait_for_report = lazy("acdflow.pipeline.reports", "wait_for_report")
    extract = lazy("acdflow.pipeline.reports", "extract")

    with DAG(
        dag_id=spec.dag_id(kind),
        description=description,
        schedule=_timetable(),
        start_date=spec.start_date,
        # Airflow's end_date bounds the *start* of a run's interval; the spec's is the end of the last one.
        end_date=spec.end_date - FIFTEEN_MINUTES if spec.end_date else None,
        catchup=True,
        max_active_runs=spec.max_active_runs,
        # Set explicitly: each default is a configuration lookup, per DAG, at every parse.
        max_active_tasks=16,
        max_consecutive_failed_dag_runs=0,
        default_args=default_args(spec),
        tags=["8x8", spec.name, "acdflow", kind, *spec.tags],
        doc_md=doc_md,
    ) as dag:
        # Each body gets the run, the warehouse URI and the previous step's XCom (ids and counts).
        bodies: list[tuple[str, bool, Callable[[Any, str, Any, Mapping[str, Any]], dict[str, Any]]]] = [
            ("authenticate", True, lambda run, uri, prev, ctx: authenticate(spec, run)),
            ("trigger_report", True, lambda run, uri, prev, ctx: trigger(spec, run)),
            ("wait_for_report", True, lambda run, uri, prev, ctx: wait_for_report(spec, prev)),
            (
                "extract",
                True,
                lambda run, uri, prev, ctx: extract(
                    spec, warehouse, report_type, int(prev["report_id"]), uri
                ),
            ),
            (
                "transform",
                False,
                lambda run, uri, prev, ctx: transform(spec, warehouse, run, int(prev["report_id"]), uri),
            ),
            (
                "load",
                False,
                lambda run, uri, prev, ctx: load(spec, warehouse, run, int(prev["report_id"]), uri),
            ),
            (final_task_id, False, final),
        ]
        previous: Any = None
        for task_id, calls_api, body in bodies:
            operator = StepOperator(
                task_id=task_id,
                spec=spec,
                warehouse=warehouse,
                body=body,
                upstream_task_id=previous.task_id if previous is not None else None,
                **({"pool": spec.pool} if calls_api else {}),
            )
            if previous is not None:
                previous >> operator
            previous = operator
    return dag


def build_interactions_dag(spec: IntegrationSpec, warehouse: WarehouseSpec) -> Any:
    from acdflow.pipeline import INTERACTION_REPORT

    module = "acdflow.pipeline.interactions"
    aggregate_aht = lazy(module, "aggregate_aht")

    def aggregate(run: Any, uri: str, loaded: Any, context: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = aggregate_aht(
            spec, warehouse, run, int(loaded["report_id"]), list(loaded["intervals"]), uri
        )
        return result

    dag_id = spec.dag_id("interactions")
    return _report_dag(
        spec,
        warehouse,
        kind="interactions",
        description=f"8x8 queue data and AHT for {spec.name}",
        doc_md=INTERACTIONS_DOC.format(
            name=spec.name,
            conn_id=spec.conn_id,
            schema=warehouse.schema,
            lookback=spec.lookback_minutes,
            settle=spec.settle_lookback_hours,
            settle_hour=spec.settle_hour_utc,
            quirk=str(spec.correct_time_quirk).lower(),
            dag_id=dag_id,
        ),
        report_type=INTERACTION_REPORT,
        trigger=lazy(module, "trigger_report"),
        transform=lazy(module, "transform"),
        load=lazy(module, "load"),
        final_task_id="aggregate_aht",
        final=aggregate,
    )


def build_agent_status_dag(spec: IntegrationSpec, warehouse: WarehouseSpec) -> Any:
    from acdflow.pipeline import AGENT_STATUS_REPORT

    module = "acdflow.pipeline.agent_status"
    check_time_drift = lazy(module, "check_time_drift")

    def check(run: Any, uri: str, loaded: Any, context: Mapping[str, Any]) -> dict[str, Any]:
        # The requested window comes from trigger_report's XCom, without adding a second edge.
        triggered = context["ti"].xcom_pull(task_ids="trigger_report")
        result: dict[str, Any] = check_time_drift(
            spec, warehouse, run, triggered, int(loaded["report_id"]), uri
        )
        return result

    dag_id = spec.dag_id("agent_status")
    return _report_dag(
        spec,
        warehouse,
        kind="agent_status",
        description=f"8x8 historical agent statuses for {spec.name}",
        doc_md=AGENT_STATUS_DOC.format(
            name=spec.name,
            conn_id=spec.conn_id,
            schema=warehouse.schema,
            overlap=spec.status_overlap_minutes,
            quirk=str(spec.correct_time_quirk).lower(),
            drift_effect="fails the task (and alerts)"
            if spec.drift_check == "fail"
            else "is logged as a warning",
            dag_id=dag_id,
        ),
        report_type=AGENT_STATUS_REPORT,
        trigger=lazy(module, "trigger_report"),
        transform=lazy(module, "transform"),
        load=lazy(module, "load"),
        final_task_id="check_time_drift",
        final=check,
    )


def build_dags(config: ConfigResult) -> dict[str, Any]:
    """Every DAG of every enabled integration, keyed by DAG id."""
    dags: dict[str, Any] = {}
    from acdflow.live_dag import build_live_status_dag

    for spec in config.enabled():
        for build in (build_interactions_dag, build_agent_status_dag, build_live_status_dag):
            dag = build(spec, config.warehouse)
            dags[dag.dag_id] = dag
    return dags


def build_all() -> dict[str, Any]:
    """Entry point of the DAG file: read the local integrations file and build its DAGs."""
    return build_dags(load_config())
