"""One factory: integration specs in, Airflow DAGs out.

Building a DAG does only local, cheap work: no network, no database, no Variables or Connections
(those are read by the tasks when they run). DAG files call :func:`build_all` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from acdflow.config import ConfigResult, IntegrationSpec, WarehouseSpec, load_config

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


def build_interactions_dag(spec: IntegrationSpec, warehouse: WarehouseSpec) -> Any:
    from airflow.sdk import DAG, task

    from acdflow.pipeline import interactions as steps
    from acdflow.pipeline.steps import run_step

    dag_id = spec.dag_id("interactions")
    with DAG(
        dag_id=dag_id,
        description=f"8x8 queue data and AHT for {spec.name}",
        schedule=_timetable(),
        start_date=spec.start_date,
        catchup=True,
        max_active_runs=spec.max_active_runs,
        default_args=default_args(spec),
        tags=["8x8", spec.name, "acdflow", "interactions", *spec.tags],
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
        render_template_as_native_obj=False,
    ) as dag:

        def step(body: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            return lambda context: run_step(spec, warehouse, context, body)

        @task(task_id="authenticate", pool=spec.pool)
        def authenticate(**context: Any) -> dict[str, Any]:
            return step(lambda run, uri: steps.authenticate(spec, run))(context)

        @task(task_id="trigger_report", pool=spec.pool)
        def trigger_report(auth: dict[str, Any], **context: Any) -> dict[str, Any]:
            return step(lambda run, uri: steps.trigger_report(spec, run))(context)

        @task(task_id="wait_for_report", pool=spec.pool)
        def wait_for_report(report: dict[str, Any], **context: Any) -> dict[str, Any]:
            report_id = int(report["report_id"])
            return step(lambda run, uri: steps.wait_for_report(spec, run, report_id))(context)

        @task(task_id="extract", pool=spec.pool)
        def extract(ready: dict[str, Any], **context: Any) -> dict[str, Any]:
            report_id = int(ready["report_id"])
            return step(lambda run, uri: steps.extract(spec, warehouse, run, report_id, uri))(context)

        @task(task_id="transform")
        def transform(extracted: dict[str, Any], **context: Any) -> dict[str, Any]:
            report_id = int(extracted["report_id"])
            return step(lambda run, uri: steps.transform(spec, warehouse, run, report_id, uri))(context)

        @task(task_id="load")
        def load(transformed: dict[str, Any], **context: Any) -> dict[str, Any]:
            report_id = int(transformed["report_id"])
            return step(lambda run, uri: steps.load(spec, warehouse, run, report_id, uri))(context)

        @task(task_id="aggregate_aht")
        def aggregate_aht(loaded: dict[str, Any], **context: Any) -> dict[str, Any]:
            report_id = int(loaded["report_id"])
            intervals = list(loaded["intervals"])
            return step(
                lambda run, uri: steps.aggregate_aht(spec, warehouse, run, report_id, intervals, uri)
            )(context)

        # TaskFlow returns XComArgs at parse time; Airflow resolves them to the dicts at run time.
        chained: Any = authenticate()
        for step_task in (trigger_report, wait_for_report, extract, transform, load, aggregate_aht):
            chained = step_task(chained)
    return dag


def build_dags(config: ConfigResult) -> dict[str, Any]:
    """Every DAG of every enabled integration, keyed by DAG id."""
    dags: dict[str, Any] = {}
    for spec in config.enabled():
        dag = build_interactions_dag(spec, config.warehouse)
        dags[dag.dag_id] = dag
    return dags


def build_all() -> dict[str, Any]:
    """Entry point of the DAG file: read the local integrations file and build its DAGs."""
    return build_dags(load_config())
