"""Running the live poll both ways in tests: with asynchronous I/O (the trigger's: the ``httpx``
client and a psycopg ``AsyncConnection``) and with synchronous I/O (tools: ``requests`` and a
psycopg ``Connection``). Both carry out the same protocol, so the loop tests run once per driver
against the same scripted 8x8 or simulator over real HTTP and the same real PostgreSQL.

Each asynchronous run gets an event loop of its own (``asyncio.run``), so pollers can run in
threads side by side as they would in separate triggerers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from acdflow.eightbyeight.aio import AsyncEightByEightClient
from acdflow.eightbyeight.client import EightByEightClient
from acdflow.eightbyeight.settings import EightByEightSettings
from acdflow.pipeline import live_status as loop
from acdflow.transform.agent_status import LiveSkip
from acdflow.warehouse import store

DRIVERS = ("async", "sync")


def migrate(uri: str, schema: str) -> None:
    """The task migrates the schema before it defers; the trigger's session does not."""
    with store.connect(uri, schema):
        pass


def run_loop(
    driver: str, settings: EightByEightSettings, uri: str, schema: str, **kwargs: Any
) -> loop.LoopResult:
    """:func:`~acdflow.pipeline.live_status.arun_poll_loop` or ``run_poll_loop`` with a fresh client
    and session; ``kwargs`` are the loop's own (not ``sleep``, whose type differs)."""
    if driver == "sync":
        with EightByEightClient(settings) as client, store.connect(uri, schema) as conn:
            return loop.run_poll_loop(client, conn, schema, **kwargs)
    migrate(uri, schema)

    async def main() -> loop.LoopResult:
        async with (
            AsyncEightByEightClient(settings) as client,
            await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn,
        ):
            return await loop.arun_poll_loop(client, conn, schema, **kwargs)

    return asyncio.run(main())


def poll_once(
    driver: str,
    settings: EightByEightSettings,
    uri: str,
    schema: str,
    *,
    integration: str,
    run_id: str | None,
) -> tuple[loop.PollRecord | None, list[LiveSkip]]:
    if driver == "sync":
        with EightByEightClient(settings) as client, store.connect(uri, schema) as conn:
            return loop.poll_once(client, conn, schema, integration=integration, run_id=run_id)
    migrate(uri, schema)

    async def main() -> tuple[loop.PollRecord | None, list[LiveSkip]]:
        async with (
            AsyncEightByEightClient(settings) as client,
            await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn,
        ):
            return await loop.apoll_once(client, conn, schema, integration=integration, run_id=run_id)

    return asyncio.run(main())


def rows(uri: str, statement: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(uri) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(statement, params)
        return cur.fetchall()


@contextmanager
def airflow_connections(**connections: dict[str, Any]) -> Iterator[None]:
    """Airflow connections as ``AIRFLOW_CONN_*`` variables, as a deployment may keep them; the
    trigger reads them with Airflow's asynchronous lookup."""
    names = {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value) for conn_id, value in connections.items()}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def eightbyeight_connection(settings: EightByEightSettings, **extra: Any) -> dict[str, Any]:
    """The ``eightbyeight`` Airflow connection that yields ``settings``."""
    return {
        "conn_type": "eightbyeight",
        "login": settings.client_id,
        "password": settings.client_secret,
        "host": settings.base_url,
        "extra": {"region": settings.region, "timezone": settings.timezone, **extra},
    }


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)
