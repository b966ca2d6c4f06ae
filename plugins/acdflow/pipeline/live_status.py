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

One clock: every stored time (``observed_at``, the owner row's claim and heartbeat) and every
decision derived from one (which snapshot is newer, whether the window has closed, whether an
owner is alive) uses the warehouse's clock, read once per poll (``SELECT clock_timestamp()``) or
inside the claim statement. The worker's own clock is only compared with it, to log a skew; the
pace between polls is kept on the worker's monotonic clock, which no clock adjustment moves.

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
from acdflow.transform.agent_status import LiveSkip, LiveStatus, live_status_from_agent
from acdflow.transform.rows import short_repr
from acdflow.warehouse import live as live_store
from acdflow.warehouse.store import Connection

__all__ = [
    "MIN_GRACE",
    "POLL_WINDOW",
    "PollWindow",
    "api_requests_per_hour",
    "authenticate",
    "handover_grace",
    "map_agents",
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

# What the warehouse can hold of one agent's live row. The primary keys of agent_status_live and
# agent_status_live_log are B-tree keys, whose entries must stay under about 2.7 kB: an id or a
# status name beyond these bounds could not be written, and one such agent would stop every poll.
MAX_AGENT_ID_BYTES = 512
MAX_STATUS_NAME_BYTES = 1024
# A duration in milliseconds needs 15 digits for 30,000 years. The HTTP client hands a JSON number
# literal longer than 40 characters on as its text; such a digit string is a corrupt value.
MAX_METRIC_DIGITS = 18
# A worker clock further than this from the warehouse's is worth a warning (it is never used).
CLOCK_SKEW_WARNING = timedelta(seconds=5)

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


def fetch_snapshot(
    client: LiveAgentSource, conn: Connection, schema: str
) -> tuple[list[LiveStatus], list[live_store.LiveRejection], int, datetime]:
    """All agents, mapped: (statuses without repeats, rejected elements, repeats dropped,
    observed_at: the warehouse's clock once the last page had arrived)."""
    agents = list(client.iter_live_agents(DEFAULT_LIVE_METRICS, page_size=MAX_PAGE_SIZE))
    observed_at = live_store.database_now(conn, schema)
    statuses, rejected = map_agents(agents, observed_at)
    unique, duplicates = _dedupe(statuses)
    return unique, rejected, duplicates, observed_at


def _skips(rejected: list[live_store.LiveRejection]) -> list[LiveSkip]:
    return [
        LiveSkip(r.agent_id if type(r.agent_id) is str and r.agent_id.strip() else None, r.reason)
        for r in rejected
    ]


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
    tick = monotonic()
    requests_before = client.stats.requests_sent
    statuses, rejected, duplicates, observed_at = fetch_snapshot(client, conn, schema)
    observed_tick = monotonic()
    with conn.transaction():
        if run_id is not None and not live_store.heartbeat(
            conn, schema, integration=integration, run_id=run_id, now=observed_at
        ):
            return None, _skips(rejected)
        result = live_store.apply_snapshot(
            conn, schema, integration=integration, statuses=statuses, observed_at=observed_at
        )
        rejected_new = live_store.record_skipped(
            conn, schema, integration=integration, rejected=rejected, observed_at=observed_at
        )
    record = PollRecord(
        started_at=observed_at - timedelta(seconds=observed_tick - tick),
        observed_at=observed_at,
        committed_at=observed_at + timedelta(seconds=monotonic() - observed_tick),
        agents=len(statuses) + len(rejected) + duplicates,
        skipped=len(rejected),
        duplicates=duplicates,
        changes=result.changes,
        logged=result.logged,
        touched=result.touched,
        api_requests=client.stats.requests_sent - requests_before,
        rejected_new=rejected_new,
    )
    return record, _skips(rejected)


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
    worker_clock_skew_s: float | None = None  # worker clock minus the warehouse's, at the last poll

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
    monotonic: Callable[[], float] = time.monotonic,
    owner_check_seconds: float = OWNER_CHECK_SECONDS,
    on_poll: Callable[[PollRecord], None] | None = None,
) -> LoopResult:
    """Poll ``/agents`` every ``poll_seconds`` while this run owns the poll and its window is open.

    The protocol is in the module docstring. Window and ownership decisions use the warehouse's
    clock; ``monotonic``/``sleep`` pace the polls; ``clock`` (the worker's wall clock) is only
    compared with the warehouse's to report a skew. ``poll_seconds`` is not range-checked here
    (the integration setting is, 15..300 s), so tests can use a fraction of a second. Transient
    8x8 failures that outlast the client's retries skip a poll; :data:`MAX_FAILED_POLLS_IN_A_ROW`
    of them fail the task. Returns when the window closed (ownership released), a newer run took
    over, or another run kept the poll.
    """
    if poll_seconds <= 0:
        raise ValueError("poll_seconds must be positive")
    result = LoopResult(run_id=run_id, window=window, poll_seconds=poll_seconds)
    stale = stale_after(poll_seconds)
    owned = False
    failures_in_a_row = 0
    skew_warned = False
    while True:
        if not owned:
            got = live_store.claim(
                conn, schema, integration=integration, run_id=run_id, window_start=window.start,
                stale_after=stale,
            )  # fmt: skip
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
                db_now = got.at if got.at is not None else live_store.database_now(conn, schema)
                wait = min(poll_seconds, (window.deadline - db_now).total_seconds())
                if wait <= 0:
                    result.end_reason = NOT_OWNER
                    log.info(
                        "%s: run %s did not poll: run %s owns the live poll", integration, run_id, got.owner
                    )
                    return result
                sleep(wait)
                continue
        tick = monotonic()
        try:
            record, skipped = poll_once(
                client, conn, schema, integration=integration, run_id=run_id, monotonic=monotonic
            )
        except TransientApiError as exc:
            failures_in_a_row += 1
            result.failed_polls += 1
            if failures_in_a_row >= MAX_FAILED_POLLS_IN_A_ROW:
                raise
            log.warning("%s: live poll failed (%s of %s in a row): %s", integration, failures_in_a_row,
                        MAX_FAILED_POLLS_IN_A_ROW, exc)  # fmt: skip
            # When this poll began, on the warehouse's clock.
            started = live_store.database_now(conn, schema) - timedelta(seconds=monotonic() - tick)
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
            live_store.release(conn, schema, integration=integration, run_id=run_id)
            return result
        # Wait for the next poll, watching the owner row so a takeover frees this run at once.
        next_due = tick + poll_seconds
        while (remaining := next_due - monotonic()) > 0:
            sleep(min(remaining, owner_check_seconds))
            current = live_store.owner(conn, schema, integration=integration)
            if current is not None and current != run_id:
                result.end_reason = HANDED_OVER
                result.ended_by = current
                log.info("%s: run %s handed the live poll over to %s", integration, run_id, current)
                return result


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
