"""What a running task needs from Airflow: its run identity and the two connections.

Everything here is called inside task execution only (never at DAG parse time), and imports
Airflow lazily so the rest of the package stays importable and testable without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from acdflow.eightbyeight.client import EightByEightClient
    from acdflow.eightbyeight.settings import EightByEightSettings

# libpq parameters worth carrying over from a Postgres connection's extras.
_LIBPQ_EXTRAS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "options",
    "application_name",
)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The slice of the Airflow context the pipeline steps use."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    interval_start: datetime
    interval_end: datetime


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
    )


def _to_datetime(value: Any) -> datetime:
    # pendulum.DateTime is a datetime subclass; normalise to the stdlib type for psycopg and repr.
    result = datetime.fromisoformat(value.isoformat())
    if result.tzinfo is None:
        raise RuntimeError(f"data interval bound {value!r} is not time-zone aware")
    return result


def postgres_uri_from_fields(
    *,
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    database: str | None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    auth = ""
    if login:
        auth = quote(login, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    netloc = f"{auth}{host or 'localhost'}" + (f":{port}" if port else "")
    query = {k: str(v) for k, v in (extra or {}).items() if k in _LIBPQ_EXTRAS and v is not None}
    uri = f"postgresql://{netloc}/{quote(database or 'postgres', safe='')}"
    return uri + (f"?{urlencode(query)}" if query else "")


def warehouse_uri(conn_id: str) -> str:
    """libpq URI of the warehouse connection (type postgres), read at task run time."""
    from airflow.sdk.bases.hook import BaseHook

    conn = BaseHook.get_connection(conn_id)
    if conn.conn_type not in {"postgres", "postgresql"}:
        raise RuntimeError(f"connection {conn_id!r} must be of type postgres, not {conn.conn_type!r}")
    return postgres_uri_from_fields(
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        database=conn.schema,
        extra=conn.extra_dejson,
    )


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
