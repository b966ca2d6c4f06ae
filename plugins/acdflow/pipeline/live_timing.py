"""When a live-status run polls, how long its task may stay deferred, and what it costs: pure
arithmetic, cheap to import at DAG parse time (the loop itself lives in
:mod:`acdflow.pipeline.live_status`, and runs in the triggerer)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# A run polls for the 15 minutes after its data interval ends, plus the handover grace.
POLL_WINDOW = timedelta(minutes=15)
MIN_GRACE = timedelta(seconds=60)
# Past its window's deadline a deferred poll task is failed by Airflow (and retried) after this:
# room for the last poll (the client's retries included) and for the triggerer to fire.
DEFERRAL_MARGIN = timedelta(minutes=10)
# 8x8 serves at most 1,000 agents a page.
AGENTS_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class PollWindow:
    """When a run polls: from ``start`` (its data interval end) until ``deadline``."""

    start: datetime
    deadline: datetime

    def is_past(self, now: datetime) -> bool:
        return now >= self.deadline


def handover_grace(poll_seconds: float) -> timedelta:
    """How long a run polls past its 15 minutes, waiting for the next run to take over."""
    return max(timedelta(seconds=2 * poll_seconds), MIN_GRACE)


def polling_window(
    interval_end: datetime, poll_seconds: float, *, grace: timedelta | None = None
) -> PollWindow:
    if interval_end.tzinfo is None or interval_end.utcoffset() is None:
        raise ValueError("interval_end must be time-zone aware")
    grace = handover_grace(poll_seconds) if grace is None else grace
    return PollWindow(start=interval_end, deadline=interval_end + POLL_WINDOW + grace)


def deferral_timeout(window: PollWindow, now: datetime) -> timedelta:
    """How long the poll task may stay deferred from ``now``: the rest of its window, plus
    :data:`DEFERRAL_MARGIN`. The trigger ends by itself at the deadline; this only bounds a
    trigger that hangs."""
    return max(window.deadline - now, timedelta(0)) + DEFERRAL_MARGIN


def stale_after(poll_seconds: float) -> timedelta:
    """An owner whose last heartbeat is older than this is taken for dead."""
    return timedelta(seconds=3 * poll_seconds + 30)


def api_requests_per_hour(poll_seconds: float, agents: int) -> int:
    """API cost of one integration's live import: (3600 / p) x ceil(A / 1000) ``/agents`` requests,
    plus two token requests per run (its authenticate task and its poller) at four runs an hour."""
    pages = max(1, math.ceil(agents / AGENTS_PER_PAGE))
    runs_per_hour = 4
    tokens_per_run = 2
    return math.ceil(3600 / poll_seconds) * pages + runs_per_hour * tokens_per_run
