"""One factory: integration specs in, Airflow DAGs out.

Building a DAG does only local, cheap work: no network, no database, no Variables or Connections
(those are read by the tasks when they run). DAG files call :func:`build_all` and nothing else.

Every DAG kind is a row of :data:`KINDS`: its step module and its task ids in order. Task ``t`` of
kind ``k`` runs ``acdflow.pipeline.<k>.<t>(step)`` and its SQL is ``include/sql/<k>/<t>.sql``.
An integration with a ``history_start_date`` also gets ``<name>__history``
(:func:`build_history_dag`): its task ``k.t`` (in the task group ``k``) runs the same
``acdflow.pipeline.<k>.<t>(step)``, for a whole day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from acdflow import assets, dag_docs
from acdflow.alerts import dag_class, landing_deadline
from acdflow.config import ConfigResult, IntegrationSpec, WarehouseSpec, load_config
from acdflow.pipeline import HISTORY_KIND

FIFTEEN_MINUTES = timedelta(minutes=15)
ONE_DAY = timedelta(days=1)

SCHEDULE_CRON = "*/15 * * * *"
HISTORY_CRON = "0 0 * * *"

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

# How long each task may run before Airflow stops it (and retries it): every wait inside a task is
# bounded too (HTTP deadlines, warehouse statement and lock timeouts), so these only catch what
# slips past them, e.g. a warehouse that stopped answering without closing its socket.
EXECUTION_TIMEOUTS: dict[str, timedelta] = {
    "authenticate": timedelta(minutes=5),
    "trigger_report": timedelta(minutes=10),
    "wait_for_report": timedelta(minutes=30),
    "extract": timedelta(minutes=60),
    "transform": timedelta(minutes=60),
    "load": timedelta(minutes=30),
    "aggregate_aht": timedelta(minutes=30),
    "check_time_drift": timedelta(minutes=15),
}

# Above any report task's weight (at most 7 under the default downstream rule).
LIVE_PRIORITY_WEIGHT = 100

_REPORT_TASKS = ("authenticate", "trigger_report", "wait_for_report", "extract", "transform", "load")
# Tasks that call 8x8 share the integration's API pool; warehouse-only tasks need no slot.
_API_TASKS = frozenset({"authenticate", "trigger_report", "wait_for_report", "extract"})


@dataclass(frozen=True, slots=True)
class DagKind:
    """One kind of DAG every integration gets."""

    name: str
    tasks: tuple[str, ...]  # linear: each task runs after the one before it
    description: str
    catchup: bool = True
    live: bool = False  # the live poll: latest interval only, its own pool, two runs overlap

    @property
    def module(self) -> str:
        return f"acdflow.pipeline.{self.name}"


KINDS: tuple[DagKind, ...] = (
    DagKind("interactions", (*_REPORT_TASKS, "aggregate_aht"), "8x8 queue data and AHT for {name}"),
    DagKind("agent_status", (*_REPORT_TASKS, "check_time_drift"), "8x8 historical agent statuses for {name}"),
    DagKind(
        "live_status",
        ("authenticate", "poll_live_status"),
        "8x8 live agent status for {name}, every {poll} s",
        # Polling the past is meaningless: only the latest interval runs.
        catchup=False,
        live=True,
    ),
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


def _timetable(cron: str = SCHEDULE_CRON) -> Any:
    from airflow.sdk import CronDataIntervalTimetable

    # A plain cron string has no data interval in Airflow 3 (start == end): the explicit
    # data-interval timetable gives every run exactly [start, start + 15 min) (a day for history).
    return CronDataIntervalTimetable(cron, timezone="UTC")


def _doc(kind: DagKind, spec: IntegrationSpec, warehouse: WarehouseSpec) -> str:
    from acdflow.pipeline import live_timing

    template = {
        "interactions": dag_docs.INTERACTIONS_DOC,
        "agent_status": dag_docs.AGENT_STATUS_DOC,
        "live_status": dag_docs.LIVE_DOC,
    }[kind.name]
    return template.format(
        name=spec.name,
        dag_id=spec.dag_id(kind.name),
        conn_id=spec.conn_id,
        schema=warehouse.schema,
        lookback=spec.lookback_minutes,
        settle=spec.settle_lookback_hours,
        settle_hour=spec.settle_hour_utc,
        overlap=spec.status_overlap_minutes,
        quirk=str(spec.correct_time_quirk).lower(),
        drift_effect="fails the task (and alerts)"
        if spec.drift_check == "fail"
        else "is logged as a warning",
        poll=spec.live_poll_seconds,
        grace=int(live_timing.handover_grace(spec.live_poll_seconds).total_seconds()),
        per_hour=live_timing.api_requests_per_hour(spec.live_poll_seconds, 1000),
        pool=spec.live_pool,
    )


def execution_timeout(spec: IntegrationSpec, task_id: str) -> timedelta:
    """The ``execution_timeout`` of a task; every task id of :data:`KINDS` has one."""
    if task_id == "poll_live_status":
        from acdflow.pipeline import live_timing

        # The polling runs deferred, bounded by the deferral timeout (the rest of the window plus
        # live_timing.DEFERRAL_MARGIN); this bounds each part on a worker, which takes seconds,
        # by the same length, so one figure bounds the task whichever part hangs.
        grace = live_timing.handover_grace(spec.live_poll_seconds)
        return live_timing.POLL_WINDOW + grace + live_timing.DEFERRAL_MARGIN
    return EXECUTION_TIMEOUTS[task_id]


def _task_options(kind: DagKind, spec: IntegrationSpec, task_id: str) -> dict[str, Any]:
    options: dict[str, Any] = {"execution_timeout": execution_timeout(spec, task_id)}
    if kind.live:
        options["pool"] = spec.live_pool
        # The scheduler queues the highest weights first, up to its parallelism: under the default
        # rule report tasks weigh up to 7 and the poll 1, so during a catch-up the poll would wait
        # until the catch-up ends and live status would go stale.
        options["priority_weight"] = LIVE_PRIORITY_WEIGHT
        options["weight_rule"] = "absolute"
    elif task_id in _API_TASKS:
        options["pool"] = spec.pool
    return options


def build_dag(spec: IntegrationSpec, warehouse: WarehouseSpec, kind: DagKind) -> Any:
    """The DAG ``<name>__<kind>``: the kind's tasks in order, one :class:`StepOperator` each."""
    # airflow.sdk.DAG, with a test() that works around Airflow's dag.test() bug with deadlines.
    dag_type = dag_class()

    with dag_type(
        dag_id=spec.dag_id(kind.name),
        description=kind.description.format(name=spec.name, poll=spec.live_poll_seconds),
        schedule=_timetable(),
        start_date=spec.start_date,
        # Airflow's end_date bounds the *start* of a run's interval; the spec's is the end of the last one.
        end_date=spec.end_date - FIFTEEN_MINUTES if spec.end_date else None,
        catchup=kind.catchup,
        # The live poll's next run starts while the previous one still polls, and takes over from it.
        max_active_runs=2 if kind.live else spec.max_active_runs,
        # Set explicitly: each default is a configuration lookup, per DAG, at every parse.
        max_active_tasks=16,
        max_consecutive_failed_dag_runs=0,
        default_args=default_args(spec),
        tags=["8x8", spec.name, "acdflow", kind.name, *spec.tags],
        doc_md=_doc(kind, spec, warehouse),
        # The live poll publishes no interval, so it has no landing deadline (its heartbeat shows it).
        deadline=None if kind.live else landing_deadline(spec),
    ) as dag:
        previous: Any = None
        for task_id in kind.tasks:
            # Publishing tasks have their tables' Assets as outlets: downstream DAGs schedule on them.
            operator = _step_operator(kind, spec, warehouse, task_id)
            if previous is not None:
                previous >> operator
            previous = operator
    return dag


def _step_operator(
    kind: DagKind, spec: IntegrationSpec, warehouse: WarehouseSpec, task_id: str, *, step_module: str = ""
) -> Any:
    """Task ``task_id`` of ``kind``: runs ``<step_module or kind.module>.<task_id>``."""
    from acdflow.operators import LiveStatusPollOperator, StepOperator

    # The live poll defers to the triggerer; every other step runs on a worker throughout.
    operator_class = LiveStatusPollOperator if task_id == "poll_live_status" else StepOperator
    return operator_class(
        task_id=task_id,
        spec=spec,
        warehouse=warehouse,
        step_module=step_module or kind.module,
        outlets=assets.task_outlets(spec.name, warehouse.schema, kind.name, task_id),
        **_task_options(kind, spec, task_id),
    )


def build_history_dag(spec: IntegrationSpec, warehouse: WarehouseSpec, *, now: datetime | None = None) -> Any:
    """The DAG ``<name>__history``, or None without a ``history_start_date``: one run per UTC day
    from that date up to :meth:`IntegrationSpec.history_end` (the settle horizon, read from the
    clock of the machine that parses: the only input besides the integrations file). Each run
    authenticates once, then runs the interactions and the agent-status steps for its day, each
    kind in its task group (whose tasks read the group's own upstream results)."""
    if spec.history_start_date is None:
        return None
    from airflow.sdk import TaskGroup

    dag_type = dag_class()
    # Airflow's end_date bounds the start of a run's interval: the last day starts a day before.
    last_start = spec.history_end(now or datetime.now(UTC)) - ONE_DAY
    has_final_days = last_start >= spec.history_start_date
    report_kinds = [k for k in KINDS if not k.live]
    with dag_type(
        dag_id=spec.dag_id(HISTORY_KIND),
        description=f"8x8 history of {spec.name}: a whole final day per run",
        # Until a first day is final there is nothing to schedule.
        schedule=_timetable(HISTORY_CRON) if has_final_days else None,
        start_date=spec.history_start_date,
        end_date=last_start if has_final_days else None,
        catchup=True,
        # Each day holds an API slot per report task, so more runs than slots would only queue.
        max_active_runs=spec.api_concurrency,
        max_active_tasks=16,
        max_consecutive_failed_dag_runs=0,
        default_args=default_args(spec),
        tags=["8x8", spec.name, "acdflow", HISTORY_KIND, *spec.tags],
        doc_md=dag_docs.HISTORY_DOC.format(
            name=spec.name,
            dag_id=spec.dag_id(HISTORY_KIND),
            conn_id=spec.conn_id,
            history_start=spec.history_start_date.date().isoformat(),
            horizon=-(-spec.history_lag // timedelta(hours=1)),
            final_overlap=spec.final_overlap_minutes,
            quirk=str(spec.correct_time_quirk).lower(),
            concurrency=spec.api_concurrency,
            pool=spec.pool,
        ),
        # Catching up months queues hundreds of runs at once: a landing deadline would alert for
        # each one still waiting its turn. Failures alert as in every DAG.
        deadline=None,
    ) as dag:
        # One hop from the task to its code: the shared step is defined in pipeline/reports.py.
        first = _step_operator(
            report_kinds[0], spec, warehouse, "authenticate", step_module="acdflow.pipeline.reports"
        )
        for kind in report_kinds:
            with TaskGroup(kind.name, tooltip=kind.description.format(name=spec.name, poll=0)):
                previous = first
                for task_id in kind.tasks[1:]:
                    operator = _step_operator(kind, spec, warehouse, task_id)
                    previous >> operator
                    previous = operator
    return dag


def build_dags(config: ConfigResult, *, now: datetime | None = None) -> dict[str, Any]:
    """Every DAG of every enabled integration, keyed by DAG id."""
    dags: dict[str, Any] = {}
    for spec in config.enabled():
        for kind in KINDS:
            dag = build_dag(spec, config.warehouse, kind)
            dags[dag.dag_id] = dag
        history = build_history_dag(spec, config.warehouse, now=now)
        if history is not None:
            dags[history.dag_id] = history
    return dags


def build_all() -> dict[str, Any]:
    """Entry point of the DAG file: read the local integrations file and build its DAGs."""
    return build_dags(load_config())
