"""Airflow Assets of the tables acdflow publishes, so downstream DAGs can ``schedule=`` on fresh data.

Every integration has one asset per published table, declared as an outlet of the task that
publishes it:

==========================  ========================  ==============================
table                       DAG                       task
==========================  ========================  ==============================
``interactions``            ``<name>__interactions``  ``load``
``interval_aht``            ``<name>__interactions``  ``aggregate_aht``
``agent_status_history``    ``<name>__agent_status``  ``load``
==========================  ========================  ==============================

The history DAG ``<name>__history`` publishes the same three tables from the same tasks in its
groups (``interactions.load``, ``interactions.aggregate_aht``, ``agent_status.load``), so a
consumer sees imported history like any other load; its events' ``interval_start`` and
``interval_end`` are the day.

Name ``acdflow.<integration>.<schema>.<table>``, URI ``x-acdflow://<integration>/<schema>/<table>``:
both built from the integrations file alone (no connection is read while the DAG folder is
parsed) and holding no host, user or password. The schema is part of both, so a name never
changes without its URI: Airflow leaves an asset inactive while another active asset holds the
same name or the same URI, and tasks with an inactive outlet fail. Airflow keeps URIs of an
``x-`` scheme exactly as written.

The live tables (``agent_status_live``, ``agent_status_live_log``) have no asset: the poller
rewrites them every ``live_poll_seconds`` for the current moment rather than publishing an
interval, so an event per poll would start a downstream run per poll and grow Airflow's
``asset_event`` table by thousands of rows a day per integration; readers of current state query
the table (``observed_at`` says how fresh it is).

Airflow emits an asset's event only when its task succeeds. Each successful publish emits one, even
when nothing changed: the event also says "these intervals were read again and are complete as of
now", which a consumer waiting for a quiet interval needs; ``rows_changed`` is 0 then, for consumers
that only care about changes. The event's ``extra`` is built by :func:`event_extra`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEME = "x-acdflow"

# The task of each DAG kind that publishes each table. The live-status DAG publishes none.
PUBLISHED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "interactions": {"load": ("interactions",), "aggregate_aht": ("interval_aht",)},
    "agent_status": {"load": ("agent_status_history",)},
}

# Above this many intervals an event lists only the first, the last and the count: a settle run
# touches 192 or more, and every event's extra is stored in Airflow's metadata database.
MAX_LISTED_INTERVALS = 96

_FIFTEEN = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def asset_name(integration: str, schema: str, table: str) -> str:
    return f"acdflow.{integration}.{schema}.{table}"


def asset_uri(integration: str, schema: str, table: str) -> str:
    return f"{SCHEME}://{integration}/{schema}/{table}"


def table_asset(integration: str, schema: str, table: str) -> Any:
    """The :class:`airflow.sdk.Asset` of ``schema.table`` for ``integration``."""
    from airflow.sdk import Asset

    return Asset(name=asset_name(integration, schema, table), uri=asset_uri(integration, schema, table))


def task_outlets(integration: str, schema: str, kind: str, task_id: str) -> list[Any] | None:
    """The outlets of one task of a DAG kind (the history DAG's group ``kind``), or None."""
    tables = PUBLISHED.get(kind, {}).get(task_id)
    return [table_asset(integration, schema, table) for table in tables] if tables else None


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def intervals_between(start: datetime, end: datetime) -> list[datetime]:
    """Starts of the 15-minute UTC intervals that overlap ``[start, end)``."""
    current = start - (start - _EPOCH) % _FIFTEEN
    starts: list[datetime] = []
    while current < end:
        starts.append(current)
        current += _FIFTEEN
    return starts


def event_extra(
    *,
    integration: str,
    schema: str,
    table: str,
    interval_start: datetime,
    interval_end: datetime,
    intervals: Iterable[datetime],
    rows_loaded: int,
    rows_changed: int,
    report_id: int,
) -> dict[str, Any]:
    """The ``extra`` of a table's asset event: JSON values only, bounded in size.

    ``intervals`` are the 15-minute intervals whose rows the task (re)published; the run's own
    interval is always one of them, so each run's event says its interval has landed, even when
    the interval had no data. They are listed (ISO 8601 UTC starts) up to
    :data:`MAX_LISTED_INTERVALS`; beyond that ``intervals`` is ``None`` and ``intervals_first``,
    ``intervals_last`` and ``intervals_count`` describe them."""
    touched = sorted({i.astimezone(UTC) for i in (*intervals, interval_start)})
    return {
        "integration": integration,
        "schema": schema,
        "table": table,
        "interval_start": _utc(interval_start),
        "interval_end": _utc(interval_end),
        "intervals_first": _utc(touched[0]),
        "intervals_last": _utc(touched[-1]),
        "intervals_count": len(touched),
        "intervals": [_utc(i) for i in touched] if len(touched) <= MAX_LISTED_INTERVALS else None,
        "rows_loaded": int(rows_loaded),
        "rows_changed": int(rows_changed),
        "report_id": int(report_id),
    }
