"""Live agent status: the polling loop of ``<name>__live_status``, for real-time adherence.

One DAG run per 15-minute data interval ``[S, E)``; its ``poll_live_status`` task polls 8x8's
realtime ``/agents`` every ``live_poll_seconds`` during its *polling window*, from ``E`` (when the
scheduler starts it) until ``E + 15 min + grace``, ``grace = max(2 × poll interval, 60 s)``. Each
run hands over to the next without a gap or an overlap through ``live_poll_owner``:

1. At start the run *claims* the poll. It gets it if nobody holds it, if it already held it (a
   task retry), if the holder claimed before this run's window began (an earlier interval: the
   newer run takes over), or if the holder's heartbeat is stale (``3 × poll + 30 s``: a dead
   worker). An older run or a second run of the same interval never takes it from a live holder;
   it waits, re-trying every poll interval until its deadline.
2. It polls at once, then every poll interval (fixed rate). Each poll fetches all agents (all
   pages), maps them (the product's live-status rule, see docs/8x8-api-notes.md, “Live status:
   realtime `/agents`”; agents with null inputs are skipped and counted), and in one transaction
   heartbeats the owner row (which locks it) and merges the snapshot
   (:func:`acdflow.warehouse.live.apply_snapshot`). If the heartbeat finds another owner the
   transaction writes nothing and the run stops: after a takeover only the new run writes.
3. Between polls it checks the owner row every few seconds and stops as soon as a newer run
   took over, so the Airflow slot frees within seconds of the handover.
4. At its deadline it releases the poll. A run whose whole window is already in the past (a
   manual run of an old interval, ``dag.test``) polls exactly once and ends, or does not poll at
   all if a live run holds the poll.

Freshness: a status change is in ``agent_status_live`` after the next poll, i.e. within one poll
interval plus the poll's own latency (30 s + well under a second at the defaults); at a handover
the new run polls the moment it claims, so the gap between two polls stays within one interval.

API cost per hour, poll interval ``p`` s and ``A`` agents: ``(3600 / p) × ceil(A / 1000)``
``/agents`` requests + 2 token requests per run (the ``authenticate`` task's and the poller's own
client; a token lives 30 min, longer than a run's poll) × 4 runs = ``(3600 / p) × ceil(A / 1000) + 8``:
**128 requests per hour** at 30 s and ≤ 1,000 agents (248 at 15 s). Handovers add nothing: the
old run stops when the new one starts polling.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from acdflow.eightbyeight.client import DEFAULT_LIVE_METRICS, MAX_PAGE_SIZE, ClientStats
from acdflow.eightbyeight.errors import TransientApiError
from acdflow.pipeline.live_timing import (
    MIN_GRACE,
    POLL_WINDOW,
    PollWindow,
    api_requests_per_hour,
    handover_grace,
    polling_window,
    stale_after,
)
from acdflow.pipeline.reports import authenticate
from acdflow.pipeline.steps import Step
from acdflow.transform.agent_status import LiveSkip, LiveStatus, live_statuses
from acdflow.warehouse import live as live_store
from acdflow.warehouse.store import Connection

__all__ = [
    "MIN_GRACE",
    "POLL_WINDOW",
    "PollWindow",
    "api_requests_per_hour",
    "authenticate",
    "handover_grace",
    "poll_live_status",
    "polling_window",
    "run_poll_loop",
    "stale_after",
]

log = logging.getLogger(__name__)

# While waiting for the next poll, look at the owner row this often (bounded by the interval).
OWNER_CHECK_SECONDS = 5.0
# Polls in a row that fail on a transient 8x8 error (after the client's own retries) before the
# task fails and Airflow's retry takes over.
MAX_FAILED_POLLS_IN_A_ROW = 3

WINDOW_CLOSED = "window_closed"
HANDED_OVER = "handed_over"
NOT_OWNER = "not_owner"


class LiveAgentSource(Protocol):
    """What the loop needs from :class:`acdflow.eightbyeight.client.EightByEightClient`."""

    @property
    def stats(self) -> ClientStats: ...

    def iter_live_agents(self, metrics: tuple[str, ...] = ..., *, page_size: int = ...) -> Iterable[Any]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- one poll ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One committed poll: when, what it saw and wrote, and what it cost."""

    started_at: datetime
    observed_at: datetime  # the snapshot's time: the wall clock when the last page had arrived
    committed_at: datetime
    agents: int
    skipped: int
    duplicates: int
    changes: int
    logged: int
    touched: int
    api_requests: int

    @property
    def latency_s(self) -> float:
        return (self.committed_at - self.started_at).total_seconds()


def _dedupe(statuses: list[LiveStatus]) -> tuple[list[LiveStatus], int]:
    # Realtime pages are cut from a live list: an agent can land on two pages of one poll.
    seen: dict[str, LiveStatus] = {}
    for status in statuses:
        seen.setdefault(status.agent_id, status)
    return list(seen.values()), len(statuses) - len(seen)


def fetch_snapshot(
    client: LiveAgentSource, clock: Callable[[], datetime] = utc_now
) -> tuple[list[LiveStatus], list[LiveSkip], int, datetime]:
    """All agents, mapped: (statuses without repeats, skipped, repeats dropped, observed_at)."""
    agents = list(client.iter_live_agents(DEFAULT_LIVE_METRICS, page_size=MAX_PAGE_SIZE))
    observed_at = clock()
    statuses, skipped = live_statuses(agents, observed_at)
    unique, duplicates = _dedupe(statuses)
    return unique, skipped, duplicates, observed_at


def poll_once(
    client: LiveAgentSource,
    conn: Connection,
    schema: str,
    *,
    integration: str,
    run_id: str | None,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[PollRecord | None, list[LiveSkip]]:
    """Fetch one snapshot and merge it; ``run_id`` None = without ownership (tests, tools).

    Returns ``(None, skipped)`` when ``run_id`` no longer owns the poll: nothing was written.
    """
    started_at = clock()
    requests_before = client.stats.requests_sent
    statuses, skipped, duplicates, observed_at = fetch_snapshot(client, clock)
    with conn.transaction():
        if run_id is not None and not live_store.heartbeat(
            conn, schema, integration=integration, run_id=run_id, now=observed_at
        ):
            return None, skipped
        result = live_store.apply_snapshot(
            conn, schema, integration=integration, statuses=statuses, observed_at=observed_at
        )
    record = PollRecord(
        started_at=started_at,
        observed_at=observed_at,
        committed_at=clock(),
        agents=len(statuses) + len(skipped) + duplicates,
        skipped=len(skipped),
        duplicates=duplicates,
        changes=result.changes,
        logged=result.logged,
        touched=result.touched,
        api_requests=client.stats.requests_sent - requests_before,
    )
    return record, skipped


# --- the loop ------------------------------------------------------------------------------------


@dataclass
class LoopResult:
    """Everything one run of the loop did; :meth:`summary` is what goes to ``load_runs``/XCom."""

    run_id: str
    window: PollWindow
    poll_seconds: float
    polls: list[PollRecord] = field(default_factory=list)
    end_reason: str = ""
    took_over_from: str | None = None
    ended_by: str | None = None  # the run that took over, or the owner that kept this run out
    failed_polls: int = 0
    skipped_agents: dict[str, str] = field(default_factory=dict)  # latest reason per agent id

    def summary(self) -> dict[str, Any]:
        latencies = [p.latency_s for p in self.polls]
        last = self.polls[-1] if self.polls else None
        return {
            "polls": len(self.polls),
            "changes": sum(p.changes for p in self.polls),
            "log_rows": sum(p.logged for p in self.polls),
            "skipped": last.skipped if last else 0,
            "skipped_max": max((p.skipped for p in self.polls), default=0),
            "agents": last.agents if last else 0,
            # load_runs columns: every element fetched, every status written, every skip counted.
            "rows_fetched": sum(p.agents for p in self.polls),
            "rows_loaded": sum(p.changes + p.touched for p in self.polls),
            "rows_rejected": sum(p.skipped for p in self.polls),
            "api_requests": sum(p.api_requests for p in self.polls),
            "failed_polls": self.failed_polls,
            "max_poll_latency_ms": round(max(latencies) * 1000) if latencies else None,
            "median_poll_latency_ms": round(statistics.median(latencies) * 1000) if latencies else None,
            "poll_seconds": self.poll_seconds,
            "window_start": self.window.start.isoformat(),
            "window_deadline": self.window.deadline.isoformat(),
            "first_poll_at": self.polls[0].observed_at.isoformat() if self.polls else None,
            "last_poll_at": last.observed_at.isoformat() if last else None,
            "end_reason": self.end_reason,
            "took_over_from": self.took_over_from,
            "ended_by": self.ended_by,
            "skipped_agents": dict(sorted(self.skipped_agents.items())[:20]),
        }


def run_poll_loop(
    client: LiveAgentSource,
    conn: Connection,
    schema: str,
    *,
    integration: str,
    run_id: str,
    window: PollWindow,
    poll_seconds: float,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    owner_check_seconds: float = OWNER_CHECK_SECONDS,
    on_poll: Callable[[PollRecord], None] | None = None,
) -> LoopResult:
    """Poll ``/agents`` every ``poll_seconds`` while this run owns the poll and its window is open.

    The protocol is in the module docstring. ``clock``/``sleep`` are injectable for tests;
    ``poll_seconds`` is not range-checked here (the integration setting is, 15..300 s), so tests
    can use a fraction of a second. Transient 8x8 failures that outlast the client's retries skip
    a poll; :data:`MAX_FAILED_POLLS_IN_A_ROW` of them fail the task. Returns when the window
    closed (ownership released), a newer run took over, or another run kept the poll.
    """
    if poll_seconds <= 0:
        raise ValueError("poll_seconds must be positive")
    result = LoopResult(run_id=run_id, window=window, poll_seconds=poll_seconds)
    stale = stale_after(poll_seconds)
    owned = False
    failures_in_a_row = 0
    while True:
        now = clock()
        if not owned:
            got = live_store.claim(
                conn,
                schema,
                integration=integration,
                run_id=run_id,
                window_start=window.start,
                now=now,
                stale_after=stale,
            )
            if got.owned:
                owned = True
                result.ended_by = None
                if got.previous_owner not in (None, run_id):
                    result.took_over_from = got.previous_owner
                log.info(
                    "%s: run %s polls live status every %s s until %s%s",
                    integration,
                    run_id,
                    poll_seconds,
                    window.deadline.isoformat(),
                    f" (took over from {got.previous_owner})" if result.took_over_from else "",
                )
            else:
                result.ended_by = got.owner
                wait = min(poll_seconds, (window.deadline - now).total_seconds())
                if wait <= 0:
                    result.end_reason = NOT_OWNER
                    log.info(
                        "%s: run %s did not poll: run %s owns the live poll", integration, run_id, got.owner
                    )
                    return result
                sleep(wait)
                continue
        try:
            record, skipped = poll_once(
                client, conn, schema, integration=integration, run_id=run_id, clock=clock
            )
        except TransientApiError as exc:
            failures_in_a_row += 1
            result.failed_polls += 1
            if failures_in_a_row >= MAX_FAILED_POLLS_IN_A_ROW:
                raise
            log.warning("%s: live poll failed (%s of %s in a row): %s", integration, failures_in_a_row,
                        MAX_FAILED_POLLS_IN_A_ROW, exc)  # fmt: skip
            record, skipped = None, []
            started = now
        else:
            failures_in_a_row = 0
            if record is None:
                current = live_store.owner(conn, schema, integration=integration)
                if current is None:
                    owned = False  # the owner row was removed by hand: claim it again and poll
                    continue
                result.end_reason = HANDED_OVER
                result.ended_by = current
                log.info("%s: run %s handed the live poll over to %s", integration, run_id, current)
                return result
            started = record.started_at
            result.polls.append(record)
            log.info(
                "%s: poll %s: %s agents, %s changes, %s skipped, %s API requests, %.0f ms",
                integration, len(result.polls), record.agents, record.changes, record.skipped,
                record.api_requests, record.latency_s * 1000,
            )  # fmt: skip
            _note_skipped(integration, result.skipped_agents, skipped)
            if on_poll is not None:
                on_poll(record)
        next_due = started + timedelta(seconds=poll_seconds)
        if next_due >= window.deadline:
            result.end_reason = WINDOW_CLOSED
            live_store.release(conn, schema, integration=integration, run_id=run_id)
            return result
        # Wait for the next poll, watching the owner row so a takeover frees this run at once.
        while (remaining := (next_due - clock()).total_seconds()) > 0:
            sleep(min(remaining, owner_check_seconds))
            current = live_store.owner(conn, schema, integration=integration)
            if current is not None and current != run_id:
                result.end_reason = HANDED_OVER
                result.ended_by = current
                log.info("%s: run %s handed the live poll over to %s", integration, run_id, current)
                return result


def _note_skipped(integration: str, known: dict[str, str], skipped: list[LiveSkip]) -> None:
    """Log skipped agents once per agent and reason, not on every poll."""
    fresh = {(s.agent_id or "?"): s.reason for s in skipped}
    new = {k: v for k, v in fresh.items() if known.get(k) != v}
    known.update(fresh)
    for agent_id, reason in sorted(new.items())[:20]:
        log.warning("%s: live status of agent %s skipped: %s", integration, agent_id, reason)


# --- the DAG's steps -----------------------------------------------------------------------------


def poll_live_status(step: Step, *, clock: Callable[[], datetime] = utc_now) -> dict[str, Any]:
    """The loop for this run's polling window."""
    spec, warehouse, run = step.spec, step.warehouse, step.run
    window = polling_window(run.interval_end, spec.live_poll_seconds)
    with step.client() as client, step.connect() as conn:
        result = run_poll_loop(
            client,
            conn,
            warehouse.schema,
            integration=spec.name,
            run_id=run.run_id,
            window=window,
            poll_seconds=spec.live_poll_seconds,
            clock=clock,
        )
        summary = result.summary()
        # Token fetches are not part of any poll's count when they happen between polls.
        summary["api_requests"] = client.stats.requests_sent
        summary["token_fetches"] = client.stats.token_fetches
    log.info("%s: live status run %s: %s", spec.name, run.run_id, _brief(summary))
    return summary


def _brief(summary: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("polls", "changes", "skipped", "api_requests", "max_poll_latency_ms", "end_reason", "ended_by")
    return {k: summary[k] for k in keys}
