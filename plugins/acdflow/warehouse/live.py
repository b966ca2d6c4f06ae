"""Live agent status in the warehouse: the current row per agent, the change log, poll ownership.

``agent_status_live`` holds one current row per (integration, agent); ``agent_status_live_log``
gains one row per *observed change* (not per poll), so adherence can be replayed from it: an
agent's status lasts from its log row's ``start_time`` until the next log row's. Both are written
by :func:`apply_snapshot` in one statement (``include/sql/live/apply_snapshot.sql``).

``live_poll_owner`` says which DAG run polls an integration, so consecutive runs hand over
without a gap or an overlap (:func:`claim`, :func:`heartbeat`, :func:`release`; the rule is in
``include/sql/live_status/poll_live_status.claim.sql``). Writers of one integration are
serialised: by the owner row's lock when polling under ownership, and by an advisory lock in
:func:`apply_snapshot`.

One clock: every time stored here (``observed_at``, ``claimed_at``, ``heartbeat_at``) and every
comparison between them is the warehouse's (:func:`acdflow.warehouse.store.database_now` or
``clock_timestamp()`` in the statement), never a worker's, so pollers on workers whose clocks
disagree still agree on which snapshot is newer and which owner is alive.

Elements a poll skipped are quarantined in ``rejected_rows`` (source ``live_status``) by
:func:`record_skipped`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from acdflow.transform.agent_status import LiveStatus
from acdflow.transform.rows import UNSTORABLE_ROW_KEY
from acdflow.warehouse.sql import render
from acdflow.warehouse.store import Connection, canonical_row_hash, database_now, storable_json

__all__ = [
    "START_JITTER",
    "Claim",
    "LiveRejection",
    "SnapshotResult",
    "apply_snapshot",
    "claim",
    "database_now",
    "heartbeat",
    "owner",
    "record_skipped",
    "release",
]

# Same status name and a start at most this far from the stored one: not a change (8x8 computes
# loggedInTime and timeOnStatus a few milliseconds apart, so a derived start wobbles).
START_JITTER = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What one snapshot did: agents written, status changes, in-place updates, log rows added."""

    agents: int
    changes: int
    touched: int
    logged: int


@dataclass(frozen=True, slots=True)
class Claim:
    """Outcome of :func:`claim`: whether this run owns the poll, who owns it, and who did before."""

    owned: bool
    owner: str | None
    claimed_at: datetime | None
    previous_owner: str | None
    at: datetime | None = None  # the warehouse time the claim was judged at


@dataclass(frozen=True, slots=True)
class LiveRejection:
    """An ``/agents`` element a poll skipped: the element and its ``id`` as received (anything,
    or None), and why it was skipped."""

    raw: Any
    agent_id: Any
    reason: str


def _ident(schema: str) -> sql.Identifier:
    return sql.Identifier(schema)


def _integration_lock(conn: Connection, integration: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"acdflow:live:{integration}",))


def rejection_params(
    integration: str, rejected: Sequence[LiveRejection], observed_at: datetime
) -> dict[str, Any]:
    """The parameters of ``poll_live_status.rejected.sql`` for the elements one poll skipped,
    shared by the sync and async writers: one row per agent and reason."""
    unique: dict[str, LiveRejection] = {}
    for item in rejected:
        # ascii(): an id of any type and content has one printable, encodable spelling.
        key = canonical_row_hash({"agent_id": ascii(item.agent_id), "reason": ascii(item.reason)})
        unique.setdefault(key, item)
    return {
        "integration": integration,
        "observed_at": observed_at,
        "row_hash": list(unique),
        "reason": [_storable_text(r.reason) for r in unique.values()],
        "raw": [_storable_raw(r.raw) for r in unique.values()],
        "record_id": [_record_id(r.agent_id) for r in unique.values()],
    }


def snapshot_params(
    integration: str, statuses: Sequence[LiveStatus], observed_at: datetime, jitter: timedelta
) -> dict[str, Any]:
    """The parameters of ``poll_live_status.sql`` for one snapshot, shared by the sync and async
    writers; rejects a naive ``observed_at`` and repeated agent ids."""
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        raise ValueError("observed_at must be time-zone aware")
    ids = [s.agent_id for s in statuses]
    if len(set(ids)) != len(ids):
        raise ValueError("a snapshot must not repeat an agent id")
    return {
        "integration": integration,
        "observed_at": observed_at,
        "jitter": jitter,
        "agent_id": ids,
        "agent_name": [s.agent_name for s in statuses],
        "status": [s.status for s in statuses],
        "status_code": [s.status_code for s in statuses],
        "status_name": [s.status_name for s in statuses],
        "start_time": [s.start_time for s in statuses],
        "end_time": [s.end_time for s in statuses],
    }


def apply_snapshot(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    statuses: Sequence[LiveStatus],
    observed_at: datetime,
    jitter: timedelta = START_JITTER,
) -> SnapshotResult:
    """Merge one ``/agents`` snapshot into ``agent_status_live`` and ``agent_status_live_log``.

    ``statuses`` must have unique agent ids (a live snapshot paged while agents come and go can
    repeat one; de-duplicate first). Runs in its own transaction, or in the caller's as a
    savepoint. Applying the same snapshot twice changes nothing.
    """
    params = snapshot_params(integration, statuses, observed_at, jitter)
    with conn.transaction():
        _integration_lock(conn, integration)
        row = conn.execute(render("live_status/poll_live_status.sql", schema), params).fetchone()
    assert row is not None  # an aggregate SELECT always returns one row
    return SnapshotResult(agents=int(row[0]), changes=int(row[1]), touched=int(row[2]), logged=int(row[3]))


# --- poll ownership ------------------------------------------------------------------------------


def claim(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    run_id: str,
    window_start: datetime,
    stale_after: timedelta,
    now: datetime | None = None,
) -> Claim:
    """Try to take the live poll of ``integration`` for ``run_id`` (rule in
    ``live_status/poll_live_status.claim.sql``), judged on the warehouse's clock.

    ``now`` replaces that clock with a fixed instant, to replay the rule; the poller never sets it.
    """
    params = {
        "integration": integration,
        "run_id": run_id,
        "now": now,
        "window_start": window_start,
        "stale_after": stale_after,
    }
    with conn.transaction():
        row = conn.execute(render("live_status/poll_live_status.claim.sql", schema), params).fetchone()
    if row is None:  # only if the row vanished between the two halves of the statement
        return Claim(owned=False, owner=None, claimed_at=None, previous_owner=None, at=now)
    owned, owner, claimed_at, _heartbeat, previous, _previous_heartbeat, at = row
    return Claim(owned=bool(owned), owner=owner, claimed_at=claimed_at, previous_owner=previous, at=at)


def heartbeat(
    conn: Connection, schema: str, *, integration: str, run_id: str, now: datetime | None = None
) -> bool:
    """Record that ``run_id`` is alive and polling; False if it no longer owns the poll.

    ``now`` is the poll's warehouse time (None: the warehouse's clock at this statement). Inside a
    transaction this also locks the owner row until commit, so no other run can take over while
    the caller writes the snapshot that goes with this heartbeat.
    """
    row = conn.execute(
        render("live_status/poll_live_status.heartbeat.sql", schema),
        {"now": now, "integration": integration, "run_id": run_id},
    ).fetchone()
    return row is not None


def owner(conn: Connection, schema: str, *, integration: str) -> str | None:
    """The run id that owns the live poll of ``integration``, if any."""
    row = conn.execute(
        render("live_status/poll_live_status.owner.sql", schema), {"integration": integration}
    ).fetchone()
    return str(row[0]) if row else None


def release(conn: Connection, schema: str, *, integration: str, run_id: str) -> bool:
    """Give up the poll if ``run_id`` still owns it (a run whose window closed); True if it did."""
    row = conn.execute(
        render("live_status/poll_live_status.release.sql", schema),
        {"integration": integration, "run_id": run_id},
    ).fetchone()
    return row is not None


# --- skipped elements ----------------------------------------------------------------------------


def _storable_raw(raw: Any) -> str:
    """``raw`` as JSON text jsonb accepts. An element with a NUL character, an unpaired surrogate,
    a non-finite number or an integer too long to print is kept as ASCII-escaped text under
    ``UNSTORABLE_ROW_KEY`` (the same marker the report landing uses)."""
    try:
        json.dumps(raw, allow_nan=False)
        return storable_json([raw])[1:-1]
    except (TypeError, ValueError):
        pass
    try:
        text = json.dumps(raw, ensure_ascii=True, default=repr)
    except (TypeError, ValueError):
        text = f"<{type(raw).__name__} that cannot be serialised>"
    return json.dumps({UNSTORABLE_ROW_KEY: text})


def _storable_text(value: str) -> str:
    """``value`` with what PostgreSQL text cannot hold (NUL, unpaired surrogates) escaped."""
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _record_id(agent_id: Any) -> str | None:
    if type(agent_id) is not str or not agent_id:
        return None
    return agent_id if _storable_text(agent_id) == agent_id else None


def record_skipped(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    rejected: Sequence[LiveRejection],
    observed_at: datetime,
) -> int:
    """Quarantine the elements one poll skipped in ``rejected_rows`` (rule and identity in
    ``live_status/poll_live_status.rejected.sql``); returns how many were new."""
    if not rejected:
        return 0
    params = rejection_params(integration, rejected, observed_at)
    with conn.transaction():
        cursor = conn.execute(render("live_status/poll_live_status.rejected.sql", schema), params)
    return cursor.rowcount
