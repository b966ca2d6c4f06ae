"""What a running task needs from Airflow: its run identity and its 8x8 connection.

Everything here is called inside task execution only (never at DAG parse time), and imports
Airflow lazily so the rest of the package stays importable and testable without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acdflow.eightbyeight.client import EightByEightClient
    from acdflow.eightbyeight.settings import EightByEightSettings


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The slice of the Airflow context the pipeline steps use."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    interval_start: datetime
    interval_end: datetime
    # Airflow's run type ("scheduled", "backfill", "manual", ...): only scheduled and backfill runs
    # may read final data once (acdflow.pipeline.reports.reads_final_data).
    run_type: str = "manual"


def run_info(context: Mapping[str, Any]) -> RunInfo:
    ti = context["ti"]
    start = context["data_interval_start"]
    end = context["data_interval_end"]
    if start is None or end is None or start >= end:
        raise RuntimeError(
            f"run {context.get('run_id')!r} has no data interval ({start} .. {end}); "
            "acdflow DAGs need a data-interval timetable"
        )
    return RunInfo(
        dag_id=str(ti.dag_id),
        run_id=str(context["run_id"]),
        task_id=str(ti.task_id),
        try_number=int(ti.try_number),
        interval_start=_to_datetime(start),
        interval_end=_to_datetime(end),
        run_type=_run_type(context.get("dag_run")),
    )


def _run_type(dag_run: Any) -> str:
    run_type = getattr(dag_run, "run_type", None)
    # An enum (DagRunType) in some contexts, its string value in others.
    return str(getattr(run_type, "value", run_type) or "manual").lower()


def _to_datetime(value: Any) -> datetime:
    # pendulum.DateTime is a datetime subclass; normalise to the stdlib type for psycopg and repr.
    result = datetime.fromisoformat(value.isoformat())
    if result.tzinfo is None:
        raise RuntimeError(f"data interval bound {value!r} is not time-zone aware")
    return result


def eightbyeight_settings(conn_id: str, integration: str) -> EightByEightSettings:
    """Validated settings of the integration's 8x8 connection, labelled with the integration name
    so every client error says which integration it concerns."""
    from acdflow.eightbyeight.hook import EightByEightHook

    settings = EightByEightHook(eightbyeight_conn_id=conn_id).get_settings()
    return dataclasses.replace(settings, integration=integration)


def eightbyeight_client(conn_id: str, integration: str) -> EightByEightClient:
    """A client for the integration's 8x8 connection; every token it obtains is masked in logs."""
    from airflow.sdk.log import mask_secret

    from acdflow.eightbyeight.client import EightByEightClient

    return EightByEightClient(eightbyeight_settings(conn_id, integration), secret_masker=mask_secret)
