"""The live store's statements on a psycopg :class:`~psycopg.AsyncConnection`, for the trigger.

Same SQL files (``include/sql/live_status/``), same parameters and same reading of the results as
:mod:`acdflow.warehouse.live`, whose dataclasses (:class:`~acdflow.warehouse.live.Claim`,
:class:`~acdflow.warehouse.live.SnapshotResult`, :class:`~acdflow.warehouse.live.LiveRejection`)
and value helpers are used as they are; only the awaiting differs.

:func:`open_warehouse` reaches the warehouse the way tasks do
(:func:`acdflow.warehouse.connection.open_warehouse`): the Airflow connection, looked up without
blocking the event loop, with acdflow's timeout and keepalive defaults merged into its ``extra``
and turned into libpq arguments by the postgres provider's own hook. The schema is not migrated
here: the task that defers has migrated it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from acdflow.transform.agent_status import LiveStatus
from acdflow.warehouse import live
from acdflow.warehouse.connection import session_extra
from acdflow.warehouse.sql import render

AsyncConnection = psycopg.AsyncConnection[Any]

_POSTGRES_TYPES = frozenset({"postgres", "postgresql"})


async def open_warehouse(conn_id: str) -> AsyncConnection:
    """A new asynchronous session (autocommit; transactions are explicit) on ``conn_id``."""
    from airflow.sdk import BaseHook

    connection = await BaseHook.aget_connection(conn_id)
    if connection.conn_type not in _POSTGRES_TYPES:
        raise RuntimeError(f"connection {conn_id!r} must be of type postgres, not {connection.conn_type!r}")
    connection.extra = json.dumps(session_extra(await connection.aextra_dejson()))
    # The provider's hook builds the libpq arguments (extras, IAM tokens, which may call a cloud
    # API): in a thread, so the event loop never waits on it.
    arguments = await asyncio.to_thread(_libpq_arguments, conn_id, connection)
    return await psycopg.AsyncConnection.connect(autocommit=True, **arguments)


def _libpq_arguments(conn_id: str, connection: Any) -> dict[str, Any]:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    class _Arguments(PostgresHook):
        """The provider's hook, stopped where it would open a synchronous connection."""

        def _create_connection(self, conn_args: dict[str, Any]) -> Any:
            self.arguments = dict(conn_args)
            return None

    hook = _Arguments(postgres_conn_id=conn_id, connection=connection)
    hook.get_conn()
    return hook.arguments


async def database_now(conn: AsyncConnection, schema: str) -> datetime:
    """The warehouse's clock (:func:`acdflow.warehouse.store.database_now`)."""
    cursor = await conn.execute(render("steps/clock.sql", schema))
    row = await cursor.fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def claim(
    conn: AsyncConnection,
    schema: str,
    *,
    integration: str,
    run_id: str,
    window_start: datetime,
    stale_after: timedelta,
) -> live.Claim:
    """:func:`acdflow.warehouse.live.claim`, judged on the warehouse's clock."""
    params = {
        "integration": integration,
        "run_id": run_id,
        "now": None,
        "window_start": window_start,
        "stale_after": stale_after,
    }
    async with conn.transaction():
        cursor = await conn.execute(render("live_status/poll_live_status.claim.sql", schema), params)
        row = await cursor.fetchone()
    if row is None:  # only if the row vanished between the two halves of the statement
        return live.Claim(owned=False, owner=None, claimed_at=None, previous_owner=None, at=None)
    owned, owner, claimed_at, _heartbeat, previous, _previous_heartbeat, at = row
    return live.Claim(owned=bool(owned), owner=owner, claimed_at=claimed_at, previous_owner=previous, at=at)


async def heartbeat(
    conn: AsyncConnection, schema: str, *, integration: str, run_id: str, now: datetime
) -> bool:
    """:func:`acdflow.warehouse.live.heartbeat`: inside a transaction it locks the owner row."""
    cursor = await conn.execute(
        render("live_status/poll_live_status.heartbeat.sql", schema),
        {"now": now, "integration": integration, "run_id": run_id},
    )
    return await cursor.fetchone() is not None


async def owner(conn: AsyncConnection, schema: str, *, integration: str) -> str | None:
    """:func:`acdflow.warehouse.live.owner`."""
    cursor = await conn.execute(
        render("live_status/poll_live_status.owner.sql", schema), {"integration": integration}
    )
    row = await cursor.fetchone()
    return str(row[0]) if row else None


async def release(conn: AsyncConnection, schema: str, *, integration: str, run_id: str) -> bool:
    """:func:`acdflow.warehouse.live.release`."""
    cursor = await conn.execute(
        render("live_status/poll_live_status.release.sql", schema),
        {"integration": integration, "run_id": run_id},
    )
    return await cursor.fetchone() is not None


async def apply_snapshot(
    conn: AsyncConnection,
    schema: str,
    *,
    integration: str,
    statuses: Sequence[LiveStatus],
    observed_at: datetime,
    jitter: timedelta = live.START_JITTER,
) -> live.SnapshotResult:
    """:func:`acdflow.warehouse.live.apply_snapshot`: one snapshot, agent ids unique."""
    params = live.snapshot_params(integration, statuses, observed_at, jitter)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"acdflow:live:{integration}",))
        cursor = await conn.execute(render("live_status/poll_live_status.sql", schema), params)
        row = await cursor.fetchone()
    assert row is not None  # an aggregate SELECT always returns one row
    return live.SnapshotResult(
        agents=int(row[0]), changes=int(row[1]), touched=int(row[2]), logged=int(row[3])
    )


async def record_skipped(
    conn: AsyncConnection,
    schema: str,
    *,
    integration: str,
    rejected: Sequence[live.LiveRejection],
    observed_at: datetime,
) -> int:
    """:func:`acdflow.warehouse.live.record_skipped`; returns how many were new."""
    if not rejected:
        return 0
    params = live.rejection_params(integration, rejected, observed_at)
    async with conn.transaction():
        cursor = await conn.execute(render("live_status/poll_live_status.rejected.sql", schema), params)
    return cursor.rowcount
