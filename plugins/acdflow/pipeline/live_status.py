"""Live agent status: the polling of ``<name>__live_status``, for real-time adherence.

One DAG run per 15-minute data interval ``[S, E)``; its ``poll_live_status`` task polls 8x8's
realtime ``/agents`` every ``live_poll_seconds`` during its *polling window*, from ``E`` (when the
scheduler starts it) until ``E + 15 min + grace``, ``grace = max(2 × poll interval, 60 s)``.

Where it runs: the task only prepares the poll on a worker (the warehouse schema migrated, the
window computed) and *defers* (:func:`poll_live_status`). The polling runs in Airflow's triggerer
as :class:`acdflow.live.trigger.LiveStatusTrigger`, with the asynchronous 8x8 client and an
asynchronous warehouse session (:func:`poll_window`), so no worker slot is held while the run
waits between polls. When the window is over, or on an error no poll can recover from, the trigger
fires one event and the task resumes on a worker (:func:`finish_live_status`): it records the run
in ``load_runs``, or fails with the trigger's error (an 8x8 error keeps its class, so a
configuration or credential problem is not retried). The deferral times out 10 minutes after the
window's deadline, which the trigger never outlives unless something hangs.

Each run hands over to the next without a gap or an overlap through ``live_poll_owner``:

1. At start the poller *claims* the poll. It gets it if nobody holds it, if it already held it
   (a task retry, or the trigger re-created after a triggerer restart), if the holder claimed
   before this run's window began (an earlier interval: the newer run takes over), or if the
   holder's heartbeat is stale (``3 × poll + 30 s``: a dead poller). An older run or a second run
   of the same interval never takes it from a live holder; it waits, re-trying every poll
   interval until its deadline. The claim is made by the poller itself, the moment before its
   first poll, so a handover adds no deferral latency to the gap between two polls.
2. It polls at once, then every poll interval (fixed rate). Each poll fetches all agents (all
   pages), maps them (the product's live-status rule, see docs/8x8-api-notes.md, “Live status:
   realtime `/agents`”; agents with null inputs are skipped and counted), and in one transaction
   heartbeats the owner row (which locks it) and merges the snapshot
   (:func:`acdflow.warehouse.live.apply_snapshot`). If the heartbeat finds another owner the
   transaction writes nothing and the run stops: after a takeover only the new run writes.
3. Between polls it checks the owner row every few seconds and stops as soon as a newer run
   took over.
4. At its deadline it releases the poll. A run whose whole window is already in the past (a
   manual run of an old interval, ``dag.test``) polls exactly once and ends, or does not poll at
   all if a live run holds the poll.

A trigger re-created after a triggerer restart (from its serialized arguments: names, the run id,
the window; never a secret) claims again as the same run, which keeps the poll, and polls at once:
the gap is the restart's length, and since a snapshot identical to the stored one changes
nothing, re-polling writes no duplicate.

One protocol, two ways to run it: the loop above is written once, as *plans* (generators that say
what to do next: claim, read the warehouse clock, fetch the agents, write a snapshot, sleep)
carried out either with asynchronous I/O (:func:`arun_poll_loop`, the trigger's) or synchronous
I/O (:func:`run_poll_loop`, for tools and tests that hold a synchronous client and connection).

One clock: every stored time (``observed_at``, the owner row's claim and heartbeat) and every
decision derived from one (which snapshot is newer, whether the window has closed, whether an
owner is alive) uses the warehouse's clock, read once per poll (``SELECT clock_timestamp()``) or
inside the claim statement. The poller's own clock is only compared with it, to log a skew; the
pace between polls is kept on the monotonic clock, which no clock adjustment moves.

Bad agents: an element that yields no status is skipped with a reason, counted in the poll's
summary, logged once per agent and reason, and quarantined in ``rejected_rows`` (source
``live_status``), while every other agent's status is stored. Besides the product's rules
(:func:`acdflow.transform.agent_status.live_status_from_agent`) that covers what the warehouse
cannot hold: a NUL character or an unpaired surrogate in a text field, an id over
:data:`MAX_AGENT_ID_BYTES` or a status name over :data:`MAX_STATUS_NAME_BYTES` (both are part
of B-tree keys), and a millisecond metric longer than :data:`MAX_METRIC_DIGITS` digits.

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

import asyncio
import dataclasses
import logging
import statistics
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar, cast

from acdflow.eightbyeight.client import DEFAULT_LIVE_METRICS, MAX_PAGE_SIZE, ClientStats
from acdflow.eightbyeight.errors import TransientApiError
from acdflow.pipeline.live_timing import (
    MIN_GRACE,
    POLL_WINDOW,
    PollWindow,
    api_requests_per_hour,
    deferral_timeout,
    handover_grace,
    polling_window,
    stale_after,
)
from acdflow.pipeline.reports import authenticate
from acdflow.pipeline.steps import Step
from acdflow.transform.agent_status import LiveSkip, LiveStatus, live_status_from_agent
from acdflow.transform.rows import short_repr
from acdflow.warehouse import live as live_store
from acdflow.warehouse.store import Connection

if TYPE_CHECKING:
    from acdflow.live.aio_store import AsyncConnection
    from acdflow.live.trigger import LiveStatusTrigger

__all__ = [
    "MIN_GRACE",
    "POLL_WINDOW",
    "LiveDeferral",
    "PollWindow",
    "api_requests_per_hour",
    "apoll_once",
    "arun_poll_loop",
    "authenticate",
    "finish_live_status",
    "handover_grace",
    "map_agents",
    "poll_live_status",
    "poll_once",
    "poll_window",
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

# What the warehouse can hold of one agent's live row. The primary keys of agent_status_live and
# agent_status_live_log are B-tree keys, whose entries must stay under about 2.7 kB: an id or a
# status name beyond these bounds could not be written, and one such agent would stop every poll.
MAX_AGENT_ID_BYTES = 512
MAX_STATUS_NAME_BYTES = 1024
# A duration in milliseconds needs 15 digits for 30,000 years. The HTTP client hands a JSON number
# literal longer than 40 characters on as its text; such a digit string is a corrupt value.
MAX_METRIC_DIGITS = 18
# A poller clock further than this from the warehouse's is worth a warning (it is never used).
CLOCK_SKEW_WARNING = timedelta(seconds=5)

WINDOW_CLOSED = "window_closed"
HANDED_OVER = "handed_over"
NOT_OWNER = "not_owner"


class LiveAgentSource(Protocol):
    """What the synchronous loop needs from :class:`acdflow.eightbyeight.client.EightByEightClient`."""

    @property
    def stats(self) -> ClientStats: ...

    def iter_live_agents(self, metrics: tuple[str, ...] = ..., *, page_size: int = ...) -> Iterable[Any]: ...


class AsyncLiveAgentSource(Protocol):
    """What the asynchronous loop needs from :class:`acdflow.eightbyeight.aio.AsyncEightByEightClient`."""

    @property
    def stats(self) -> ClientStats: ...

    async def live_agents(self, metrics: tuple[str, ...] = ..., *, page_size: int = ...) -> list[Any]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- one poll ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One committed poll: when (warehouse time), what it saw and wrote, and what it cost.

    ``observed_at`` is the warehouse's clock when the last page had arrived; ``started_at`` and
    ``committed_at`` are placed around it with the worker's monotonic clock, so all three are on
    the warehouse's time line and their differences are exact durations.
    """

    started_at: datetime
    observed_at: datetime
    committed_at: datetime
    agents: int
    skipped: int
    duplicates: int
    changes: int
    logged: int
    touched: int
    api_requests: int
    rejected_new: int = 0  # skipped elements quarantined for the first time by this poll

    @property
    def latency_s(self) -> float:
        return (self.committed_at - self.started_at).total_seconds()


def _dedupe(statuses: list[LiveStatus]) -> tuple[list[LiveStatus], int]:
    # Realtime pages are cut from a live list: an agent can land on two pages of one poll.
    seen: dict[str, LiveStatus] = {}
    for status in statuses:
        seen.setdefault(status.agent_id, status)
    return list(seen.values()), len(statuses) - len(seen)


def _overlong_metric(agent: Any) -> str | None:
    """A digit-string metric too long for a duration in milliseconds, before it is converted."""
    metrics = agent.get("metrics") if isinstance(agent, Mapping) else None
    if type(metrics) is not list:
        return None
    for item in metrics:
        value = item.get("value") if isinstance(item, Mapping) else None
        if type(value) is str and len(value) > MAX_METRIC_DIGITS and value.isascii() and value.isdigit():
            key = item.get("key")
            name = key if type(key) is str and len(key) <= 64 and key.isprintable() else "a metric"
            return f"{name} is a number of {len(value)} digits (at most {MAX_METRIC_DIGITS} expected)"
    return None


def _unstorable(status: LiveStatus) -> str | None:
    """Why the warehouse could not store ``status`` (see the module docstring), or None."""
    fields = (
        ("id", status.agent_id),
        ("name", status.agent_name),
        ("status.rt", status.status),
        ("statusCode.rt", status.status_code),
    )
    for field_name, value in fields:
        if value is None:
            continue
        if "\x00" in value:
            return f"{field_name} contains a NUL character, which PostgreSQL text cannot store"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{field_name} contains an unpaired surrogate, which PostgreSQL text cannot store"
    id_bytes = len(status.agent_id.encode("utf-8"))
    if id_bytes > MAX_AGENT_ID_BYTES:
        return f"id is {id_bytes} bytes long (at most {MAX_AGENT_ID_BYTES} can be stored)"
    name_bytes = len(status.status_name.encode("utf-8"))
    if name_bytes > MAX_STATUS_NAME_BYTES:
        return f"status name is {name_bytes} bytes long (at most {MAX_STATUS_NAME_BYTES} can be stored)"
    return None


def map_agents(
    agents: Iterable[Any], observed_at: datetime
) -> tuple[list[LiveStatus], list[live_store.LiveRejection]]:
    """``/agents`` elements → statuses the warehouse can store, and every other element with why.

    Never raises for an element's content: one bad agent must not stop the others' status.
    """
    statuses: list[LiveStatus] = []
    rejected: list[live_store.LiveRejection] = []
    for agent in agents:
        raw_id = agent.get("id") if isinstance(agent, Mapping) else None
        result: LiveStatus | LiveSkip
        reason = _overlong_metric(agent)
        if reason is not None:
            result = LiveSkip(None, reason)
        else:
            try:
                result = live_status_from_agent(agent, observed_at)
            except (ArithmeticError, TypeError, ValueError) as exc:
                # The mapping is meant to turn every bad value into a skip; should a value still
                # escape it, this agent is skipped, not the poll.
                result = LiveSkip(None, f"element could not be mapped ({type(exc).__name__})")
        if isinstance(result, LiveStatus):
            reason = _unstorable(result)
            if reason is None:
                statuses.append(result)
                continue
            result = LiveSkip(None, reason)
        reason = _printable(result.reason)
        rejected.append(live_store.LiveRejection(raw=agent, agent_id=raw_id, reason=reason))
    return statuses, rejected


def _printable(text: str, limit: int = 300) -> str:
    """A reason fit for logs, ``load_runs`` and ``rejected_rows``: a reason may quote a metric key
    as sent, and that can hold control characters or be very long."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def display_id(agent_id: Any) -> str:
    """An agent id fit for a log line or a summary key: as is when short and printable, else a
    clipped, escaped spelling (an id can hold control characters or be kilobytes long)."""
    if type(agent_id) is str and 0 < len(agent_id) <= 64 and agent_id.isprintable():
        return agent_id
    if agent_id is None:
        return "?"
    return short_repr(agent_id, 40)


def _skips(rejected: list[live_store.LiveRejection]) -> list[LiveSkip]:
    return [
        LiveSkip(r.agent_id if type(r.agent_id) is str and r.agent_id.strip() else None, r.reason)
        for r in rejected
    ]


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
    # The poller's clock minus the warehouse's, at the last poll (the name predates the triggerer).
    worker_clock_skew_s: float | None = None
    # When the poll was claimed, on the warehouse's clock: earlier than the first poll by more than
    # an interval when a re-created trigger (a triggerer restart) or a task retry continued a claim.
    claimed_at: datetime | None = None

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
            "rejected_new": sum(p.rejected_new for p in self.polls),
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
            "worker_clock_skew_s": self.worker_clock_skew_s,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
        }


def _note_skew(integration: str, result: LoopResult, worker_now: datetime, record: PollRecord, *,
               warned: bool) -> bool:  # fmt: skip
    """Record how far the worker's clock is from the warehouse's; warn once per run when far."""
    # The worker's reading was taken just after the commit, so compare it with committed_at.
    skew = worker_now - record.committed_at
    result.worker_clock_skew_s = round(skew.total_seconds(), 3)
    if not warned and abs(skew) > CLOCK_SKEW_WARNING:
        log.warning(
            "%s: this worker's clock is %.1f s %s the warehouse's; live status times are taken from"
            " the warehouse, but the worker's clock should be synchronised (NTP)",
            integration, abs(skew.total_seconds()), "ahead of" if skew > timedelta(0) else "behind",
        )  # fmt: skip
        return True
    return warned


def _note_skipped(integration: str, known: dict[str, str], skipped: list[LiveSkip]) -> None:
    """Log skipped agents once per agent and reason, not on every poll."""
    fresh = {display_id(s.agent_id): s.reason for s in skipped}
    new = {k: v for k, v in fresh.items() if known.get(k) != v}
    known.update(fresh)
    for agent_id, reason in sorted(new.items())[:20]:
        log.warning("%s: live status of agent %s skipped: %s", integration, agent_id, reason)


# --- the protocol, as plans ----------------------------------------------------------------------
#
# A plan yields operations and receives their results; a driver (synchronous or asynchronous)
# carries them out. Errors of an operation are thrown back into the plan at the point it asked.


@dataclass(frozen=True, slots=True)
class _FetchAgents:
    """Every ``/agents`` element → ``(elements, API requests it took)``."""


@dataclass(frozen=True, slots=True)
class _DatabaseNow:
    """The warehouse's clock → ``datetime``."""


@dataclass(frozen=True, slots=True)
class _WriteSnapshot:
    """In one transaction: the heartbeat of ``run_id`` (None: without ownership), the snapshot and
    the skipped elements → ``(SnapshotResult, rejected rows new)``, or None if ``run_id`` no longer
    owns the poll (nothing written)."""

    statuses: list[LiveStatus]
    rejected: list[live_store.LiveRejection]
    observed_at: datetime
    run_id: str | None


@dataclass(frozen=True, slots=True)
class _Claim:
    """Claim the poll → :class:`acdflow.warehouse.live.Claim`."""

    run_id: str
    window_start: datetime
    stale_after: timedelta


@dataclass(frozen=True, slots=True)
class _Owner:
    """Who owns the poll → ``str | None``."""


@dataclass(frozen=True, slots=True)
class _Release:
    """Give the poll up if ``run_id`` still holds it → ``bool``."""

    run_id: str


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


_Op: TypeAlias = _FetchAgents | _DatabaseNow | _WriteSnapshot | _Claim | _Owner | _Release | _Sleep
T = TypeVar("T")
_Plan: TypeAlias = Generator[_Op, Any, T]
_FETCH = _FetchAgents()
_NOW = _DatabaseNow()
_OWNER = _Owner()


def _poll_plan(
    *, run_id: str | None, monotonic: Callable[[], float]
) -> _Plan[tuple[PollRecord | None, list[LiveSkip]]]:
    """Fetch one snapshot and merge it; ``run_id`` None = without ownership (tests, tools).

    Returns ``(None, skipped)`` when ``run_id`` no longer owns the poll: nothing was written.
    """
    tick = monotonic()
    agents, api_requests = yield _FETCH
    observed_at: datetime = yield _NOW
    statuses, rejected = map_agents(agents, observed_at)
    unique, duplicates = _dedupe(statuses)
    observed_tick = monotonic()
    written = yield _WriteSnapshot(unique, rejected, observed_at, run_id)
    if written is None:
        return None, _skips(rejected)
    result, rejected_new = cast(tuple[live_store.SnapshotResult, int], written)
    record = PollRecord(
        started_at=observed_at - timedelta(seconds=observed_tick - tick),
        observed_at=observed_at,
        committed_at=observed_at + timedelta(seconds=monotonic() - observed_tick),
        agents=len(unique) + len(rejected) + duplicates,
        skipped=len(rejected),
        duplicates=duplicates,
        changes=result.changes,
        logged=result.logged,
        touched=result.touched,
        api_requests=api_requests,
        rejected_new=rejected_new,
    )
    return record, _skips(rejected)


def _loop_plan(
    *,
    integration: str,
    run_id: str,
    window: PollWindow,
    poll_seconds: float,
    clock: Callable[[], datetime],
    monotonic: Callable[[], float],
    owner_check_seconds: float,
    on_poll: Callable[[PollRecord], None] | None,
) -> _Plan[LoopResult]:
    """Poll every ``poll_seconds`` while this run owns the poll and its window is open (the
    protocol of the module docstring); see :func:`run_poll_loop`."""
    if poll_seconds <= 0:
        raise ValueError("poll_seconds must be positive")
    result = LoopResult(run_id=run_id, window=window, poll_seconds=poll_seconds)
    stale = stale_after(poll_seconds)
    owned = False
    failures_in_a_row = 0
    skew_warned = False
    while True:
        if not owned:
            got: live_store.Claim = yield _Claim(run_id, window.start, stale)
            if got.owned:
                owned = True
                result.ended_by = None
                if result.claimed_at is None:
                    result.claimed_at = got.claimed_at
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
                db_now: datetime = got.at if got.at is not None else (yield _NOW)
                wait = min(poll_seconds, (window.deadline - db_now).total_seconds())
                if wait <= 0:
                    result.end_reason = NOT_OWNER
                    log.info(
                        "%s: run %s did not poll: run %s owns the live poll", integration, run_id, got.owner
                    )
                    return result
                yield _Sleep(wait)
                continue
        tick = monotonic()
        try:
            record, skipped = yield from _poll_plan(run_id=run_id, monotonic=monotonic)
        except TransientApiError as exc:
            failures_in_a_row += 1
            result.failed_polls += 1
            if failures_in_a_row >= MAX_FAILED_POLLS_IN_A_ROW:
                raise
            log.warning("%s: live poll failed (%s of %s in a row): %s", integration, failures_in_a_row,
                        MAX_FAILED_POLLS_IN_A_ROW, exc)  # fmt: skip
            # When this poll began, on the warehouse's clock.
            now: datetime = yield _NOW
            started = now - timedelta(seconds=monotonic() - tick)
        else:
            failures_in_a_row = 0
            if record is None:
                current = yield _OWNER
                if current is None:
                    owned = False  # the owner row was removed by hand: claim it again and poll
                    continue
                result.end_reason = HANDED_OVER
                result.ended_by = current
                log.info("%s: run %s handed the live poll over to %s", integration, run_id, current)
                return result
            started = record.started_at
            result.polls.append(record)
            skew_warned = _note_skew(integration, result, clock(), record, warned=skew_warned)
            log.info(
                "%s: poll %s: %s agents, %s changes, %s skipped, %s API requests, %.0f ms",
                integration, len(result.polls), record.agents, record.changes, record.skipped,
                record.api_requests, record.latency_s * 1000,
            )  # fmt: skip
            _note_skipped(integration, result.skipped_agents, skipped)
            if on_poll is not None:
                on_poll(record)
        if started + timedelta(seconds=poll_seconds) >= window.deadline:
            result.end_reason = WINDOW_CLOSED
            yield _Release(run_id)
            return result
        # Wait for the next poll, watching the owner row so a takeover frees this run at once.
        next_due = tick + poll_seconds
        while (remaining := next_due - monotonic()) > 0:
            yield _Sleep(min(remaining, owner_check_seconds))
            current = yield _OWNER
            if current is not None and current != run_id:
                result.end_reason = HANDED_OVER
                result.ended_by = current
                log.info("%s: run %s handed the live poll over to %s", integration, run_id, current)
                return result


# --- carrying plans out ----------------------------------------------------------------------------


def _drive(plan: _Plan[T], perform: Callable[[_Op], Any]) -> T:
    outcome: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                op = plan.throw(error) if error is not None else plan.send(outcome)
            except StopIteration as done:
                return cast(T, done.value)
            try:
                outcome, error = perform(op), None
            except Exception as exc:
                outcome, error = None, exc
    finally:
        plan.close()


async def _adrive(plan: _Plan[T], perform: Callable[[_Op], Awaitable[Any]]) -> T:
    outcome: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                op = plan.throw(error) if error is not None else plan.send(outcome)
            except StopIteration as done:
                return cast(T, done.value)
            try:
                outcome, error = await perform(op), None
            except Exception as exc:
                outcome, error = None, exc
    finally:
        plan.close()


@dataclass
class _SyncIO:
    """The operations on a synchronous client and connection."""

    client: LiveAgentSource
    conn: Connection
    schema: str
    integration: str
    sleep: Callable[[float], None] = time.sleep

    def __call__(self, op: _Op) -> Any:
        conn, schema, integration = self.conn, self.schema, self.integration
        if isinstance(op, _FetchAgents):
            before = self.client.stats.requests_sent
            agents = list(self.client.iter_live_agents(DEFAULT_LIVE_METRICS, page_size=MAX_PAGE_SIZE))
            return agents, self.client.stats.requests_sent - before
        if isinstance(op, _DatabaseNow):
            return live_store.database_now(conn, schema)
        if isinstance(op, _WriteSnapshot):
            with conn.transaction():
                if op.run_id is not None and not live_store.heartbeat(
                    conn, schema, integration=integration, run_id=op.run_id, now=op.observed_at
                ):
                    return None
                result = live_store.apply_snapshot(
                    conn, schema, integration=integration, statuses=op.statuses, observed_at=op.observed_at
                )
                rejected_new = live_store.record_skipped(
                    conn, schema, integration=integration, rejected=op.rejected, observed_at=op.observed_at
                )
            return result, rejected_new
        if isinstance(op, _Claim):
            return live_store.claim(
                conn, schema, integration=integration, run_id=op.run_id, window_start=op.window_start,
                stale_after=op.stale_after,
            )  # fmt: skip
        if isinstance(op, _Owner):
            return live_store.owner(conn, schema, integration=integration)
        if isinstance(op, _Release):
            return live_store.release(conn, schema, integration=integration, run_id=op.run_id)
        self.sleep(op.seconds)
        return None


@dataclass
class _AsyncIO:
    """The operations on an asynchronous client and connection (the trigger's)."""

    client: AsyncLiveAgentSource
    conn: AsyncConnection
    schema: str
    integration: str
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, op: _Op) -> Any:
        from acdflow.live import aio_store

        conn, schema, integration = self.conn, self.schema, self.integration
        if isinstance(op, _FetchAgents):
            before = self.client.stats.requests_sent
            agents = await self.client.live_agents(DEFAULT_LIVE_METRICS, page_size=MAX_PAGE_SIZE)
            return agents, self.client.stats.requests_sent - before
        if isinstance(op, _DatabaseNow):
            return await aio_store.database_now(conn, schema)
        if isinstance(op, _WriteSnapshot):
            async with conn.transaction():
                if op.run_id is not None and not await aio_store.heartbeat(
                    conn, schema, integration=integration, run_id=op.run_id, now=op.observed_at
                ):
                    return None
                result = await aio_store.apply_snapshot(
                    conn, schema, integration=integration, statuses=op.statuses, observed_at=op.observed_at
                )
                rejected_new = await aio_store.record_skipped(
                    conn, schema, integration=integration, rejected=op.rejected, observed_at=op.observed_at
                )
            return result, rejected_new
        if isinstance(op, _Claim):
            return await aio_store.claim(
                conn, schema, integration=integration, run_id=op.run_id, window_start=op.window_start,
                stale_after=op.stale_after,
            )  # fmt: skip
        if isinstance(op, _Owner):
            return await aio_store.owner(conn, schema, integration=integration)
        if isinstance(op, _Release):
            return await aio_store.release(conn, schema, integration=integration, run_id=op.run_id)
        await self.sleep(op.seconds)
        return None


def poll_once(
    client: LiveAgentSource,
    conn: Connection,
    schema: str,
    *,
    integration: str,
    run_id: str | None,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[PollRecord | None, list[LiveSkip]]:
    """Fetch one snapshot and merge it; ``run_id`` None = without ownership (tests, tools).

    Returns ``(None, skipped)`` when ``run_id`` no longer owns the poll: nothing was written.
    """
    io = _SyncIO(client, conn, schema, integration)
    return _drive(_poll_plan(run_id=run_id, monotonic=monotonic), io)


async def apoll_once(
    client: AsyncLiveAgentSource,
    conn: AsyncConnection,
    schema: str,
    *,
    integration: str,
    run_id: str | None,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[PollRecord | None, list[LiveSkip]]:
    """:func:`poll_once` with asynchronous I/O."""
    io = _AsyncIO(client, conn, schema, integration)
    return await _adrive(_poll_plan(run_id=run_id, monotonic=monotonic), io)


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
    monotonic: Callable[[], float] = time.monotonic,
    owner_check_seconds: float = OWNER_CHECK_SECONDS,
    on_poll: Callable[[PollRecord], None] | None = None,
) -> LoopResult:
    """Poll ``/agents`` every ``poll_seconds`` while this run owns the poll and its window is open.

    The protocol is in the module docstring. Window and ownership decisions use the warehouse's
    clock; ``monotonic``/``sleep`` pace the polls; ``clock`` (the poller's wall clock) is only
    compared with the warehouse's to report a skew. ``poll_seconds`` is not range-checked here
    (the integration setting is, 15..300 s), so tests can use a fraction of a second. Transient
    8x8 failures that outlast the client's retries skip a poll; :data:`MAX_FAILED_POLLS_IN_A_ROW`
    of them fail the task. Returns when the window closed (ownership released), a newer run took
    over, or another run kept the poll.
    """
    plan = _loop_plan(
        integration=integration, run_id=run_id, window=window, poll_seconds=poll_seconds, clock=clock,
        monotonic=monotonic, owner_check_seconds=owner_check_seconds, on_poll=on_poll,
    )  # fmt: skip
    return _drive(plan, _SyncIO(client, conn, schema, integration, sleep))


async def arun_poll_loop(
    client: AsyncLiveAgentSource,
    conn: AsyncConnection,
    schema: str,
    *,
    integration: str,
    run_id: str,
    window: PollWindow,
    poll_seconds: float,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    owner_check_seconds: float = OWNER_CHECK_SECONDS,
    on_poll: Callable[[PollRecord], None] | None = None,
) -> LoopResult:
    """:func:`run_poll_loop` with asynchronous I/O: the trigger's loop."""
    plan = _loop_plan(
        integration=integration, run_id=run_id, window=window, poll_seconds=poll_seconds, clock=clock,
        monotonic=monotonic, owner_check_seconds=owner_check_seconds, on_poll=on_poll,
    )  # fmt: skip
    return await _adrive(plan, _AsyncIO(client, conn, schema, integration, sleep))


# --- the DAG's step and the trigger's work --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveDeferral:
    """What :func:`poll_live_status` hands its operator: the trigger to defer to, and how long
    the task may stay deferred."""

    trigger: LiveStatusTrigger
    timeout: timedelta


def poll_live_status(step: Step) -> LiveDeferral:
    """Prepare this run's poll on the worker; the operator then defers to the trigger, which polls.

    Nothing here waits: the schema is migrated (the trigger writes without migrating) and the
    window computed. The trigger gets names and the window only; it reads the connections itself.
    """
    from acdflow.live.trigger import LiveStatusTrigger

    spec, warehouse, run = step.spec, step.warehouse, step.run
    window = polling_window(run.interval_end, spec.live_poll_seconds)
    with step.connect() as conn:
        now = live_store.database_now(conn, warehouse.schema)
    trigger = LiveStatusTrigger(
        integration=spec.name,
        eightbyeight_conn_id=spec.conn_id,
        warehouse_conn_id=warehouse.conn_id,
        schema=warehouse.schema,
        run_id=run.run_id,
        window_start=window.start.isoformat(),
        window_deadline=window.deadline.isoformat(),
        poll_seconds=spec.live_poll_seconds,
    )
    log.info(
        "%s: run %s defers its live poll to the triggerer until %s (every %s s)",
        spec.name, run.run_id, window.deadline.isoformat(), spec.live_poll_seconds,
    )  # fmt: skip
    return LiveDeferral(trigger, deferral_timeout(window, now))


async def poll_window(
    *,
    integration: str,
    eightbyeight_conn_id: str,
    warehouse_conn_id: str,
    schema: str,
    run_id: str,
    window: PollWindow,
    poll_seconds: float,
    owner_check_seconds: float = OWNER_CHECK_SECONDS,
    clock: Callable[[], datetime] = utc_now,
    on_poll: Callable[[PollRecord], None] | None = None,
) -> dict[str, Any]:
    """The trigger's work: this run's polling window, with the asynchronous 8x8 client and an
    asynchronous warehouse session. Returns the run's summary.

    The client's tokens are not registered with Airflow's secrets masker here, unlike in a task.
    A triggerer lives for months and its masker forgets nothing: every token of every integration
    (one per trigger and renewal) would stay in it, and each one added rebuilds one pattern of all
    of them, so the CPU cost grows with the square of the pollers (measured: the triggerer stopped
    polling at 1,000). The token is kept out of logs by construction instead: it is only ever put in
    the ``Authorization`` header, which neither acdflow nor httpx/httpcore logs; any answer text the
    client quotes is scrubbed of it (``BaseEightByEightClient._scrub``); the event carries the
    summary only. The connection's secret is still masked by Airflow when the connection is read,
    once per secret and process."""
    from acdflow.eightbyeight.aio import AsyncEightByEightClient
    from acdflow.eightbyeight.hook import EightByEightHook
    from acdflow.live.aio_store import open_warehouse

    settings = await EightByEightHook(eightbyeight_conn_id=eightbyeight_conn_id).aget_settings()
    # Every client error then names the integration.
    settings = dataclasses.replace(settings, integration=integration)
    async with AsyncEightByEightClient(settings) as client:
        async with await open_warehouse(warehouse_conn_id) as conn:
            result = await arun_poll_loop(
                client, conn, schema, integration=integration, run_id=run_id, window=window,
                poll_seconds=poll_seconds, clock=clock, owner_check_seconds=owner_check_seconds,
                on_poll=on_poll,
            )  # fmt: skip
        summary = result.summary()
        # Token fetches are not part of any poll's count when they happen between polls.
        summary["api_requests"] = client.stats.requests_sent
        summary["token_fetches"] = client.stats.token_fetches
    log.info("%s: live status run %s: %s", integration, run_id, _brief(summary))
    return summary


def finish_live_status(step: Step, *, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """After the trigger fired: the run's summary (to ``load_runs`` and XCom), or the trigger's
    error raised again, with its class when it is an 8x8 error."""
    from acdflow.live.trigger import summary_from_event

    summary = summary_from_event(event)
    log.info(
        "%s: live status run %s ended in the triggerer: %s", step.spec.name, step.run.run_id, _brief(summary)
    )
    return summary


def _brief(summary: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("polls", "changes", "skipped", "api_requests", "max_poll_latency_ms", "end_reason", "ended_by")
    return {k: summary.get(k) for k in keys}
