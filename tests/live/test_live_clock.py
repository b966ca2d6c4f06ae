"""Live status on one clock: pollers whose clocks disagree by ten minutes, alternating and handing
over, against the simulator over HTTP and a real PostgreSQL. Every status the simulator showed at a
poll reaches ``agent_status_live_log``, no status freezes, and no stored time (the snapshot's, the
owner row's) comes from a poller's clock. Pollers run with the trigger's asynchronous I/O, the
tools' synchronous I/O, or both across a handover (a worker-side poller of an earlier version
handing over to a trigger)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from acdflow.eightbyeight.settings import EightByEightSettings
from acdflow.pipeline import live_status as loop
from acdflow.warehouse import live, store
from acdflow_dev.compare import STATUS_COLUMNS
from acdflow_dev.sim import LiveStatusTruth, Simulator
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET, simulator
from tests.live import livekit

FAST = timedelta(minutes=10)
# A Sunday morning in Helsinki with agents at work; six minutes apart, statuses change.
T0 = datetime(2026, 10, 25, 7, 10, tzinfo=UTC)
STEP = timedelta(minutes=6)
INTEGRATION = "clocks"


def fast_clock() -> datetime:
    """A worker whose wall clock runs ten minutes ahead."""
    return datetime.now(UTC) + FAST


def truth_rows(truth: LiveStatusTruth) -> set[tuple[Any, ...]]:
    return {tuple(getattr(s, c) for c in STATUS_COLUMNS) for s in truth.statuses}


def table(uri: str, schema: str, name: str) -> list[dict[str, Any]]:
    with psycopg.connect(uri) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f'SELECT * FROM "{schema}".{name} ORDER BY agent_id, start_time')
        return cur.fetchall()


def stored_rows(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {tuple(r[c] for c in STATUS_COLUMNS) for r in rows}


def db_now(uri: str) -> datetime:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


@contextmanager
def served(sim: Simulator) -> Iterator[EightByEightSettings]:
    with sim.serve(host="127.0.0.1", port=0) as server:
        yield EightByEightSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            region="eu",
            timezone="Europe/Helsinki",
            base_url=server.base_url,
            integration=INTEGRATION,
        )


def assert_nothing_stored_from_the_future(uri: str, schema: str) -> None:
    with psycopg.connect(uri) as conn:
        row = conn.execute(
            f"""SELECT clock_timestamp(),
                    (SELECT max(observed_at) FROM "{schema}".agent_status_live),
                    (SELECT max(observed_at) FROM "{schema}".agent_status_live_log),
                    (SELECT max(greatest(claimed_at, heartbeat_at)) FROM "{schema}".live_poll_owner)"""
        ).fetchone()
    assert row is not None
    now, *stored = row
    for value in stored:
        assert value is None or value <= now, (value, now)


@pytest.mark.parametrize("driver", livekit.DRIVERS)
def test_alternating_pollers_with_a_fast_worker_clock_log_every_change(
    warehouse_uri: str, fresh_schema: str, driver: str
) -> None:
    sim = simulator("Europe/Helsinki", "eu", now=T0)
    instants = [T0 + i * STEP for i in range(6)]
    truths = [sim.ground_truth().live_status(as_of=t) for t in instants]
    changes = [truth_rows(b) - truth_rows(a) for a, b in itertools.pairwise(truths)]
    assert all(changes), "every step must change some status; pick other instants"
    fast_polls: list[loop.PollRecord] = []
    with served(sim) as settings:
        for i, instant in enumerate(instants):
            sim.clock.set(instant)
            # Runs of old intervals: each claims, polls once, and releases; every other one runs
            # on the worker whose clock is ten minutes fast.
            now = db_now(warehouse_uri)
            clock = fast_clock if i % 2 else (lambda: datetime.now(UTC))
            result = livekit.run_loop(
                driver, settings, warehouse_uri, fresh_schema, integration=INTEGRATION, run_id=f"run{i}",
                window=loop.PollWindow(now - timedelta(minutes=20), now - timedelta(seconds=1)),
                poll_seconds=30, clock=clock,
            )  # fmt: skip
            assert (len(result.polls), result.end_reason) == (1, loop.WINDOW_CLOSED)
            (record,) = result.polls
            assert record.changes == (len(truths[0].statuses) if i == 0 else len(changes[i - 1]))
            assert result.worker_clock_skew_s is not None
            if i % 2:
                fast_polls.append(record)
                assert 590 < result.worker_clock_skew_s < 610
            else:
                assert abs(result.worker_clock_skew_s) < 5
            # The snapshot is stamped with the warehouse's time, whichever worker polled.
            assert now <= record.observed_at <= db_now(warehouse_uri)
            # No status is frozen: after each poll the current rows are exactly the simulator's.
            assert stored_rows(table(warehouse_uri, fresh_schema, "agent_status_live")) == truth_rows(
                truths[i]
            )
            assert_nothing_stored_from_the_future(warehouse_uri, fresh_schema)

    log = table(warehouse_uri, fresh_schema, "agent_status_live_log")
    expected = set().union(*(truth_rows(t) for t in truths))
    assert stored_rows(log) == expected
    assert len(log) == len(expected)
    # Changes seen by a correct-clock poll right after a fast-clock poll were logged too (the case
    # that froze when snapshots carried the worker's time).
    after_fast = {row for i in range(2, len(instants), 2) for row in changes[i - 1]}
    assert after_fast
    assert after_fast <= stored_rows(log)
    assert len(fast_polls) == 3


@dataclass
class Poller:
    run_id: str
    window: loop.PollWindow
    clock: Callable[[], datetime]
    driver: str
    polls: int = 0
    result: loop.LoopResult | None = None
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, _record: loop.PollRecord) -> None:
        with self.lock:
            self.polls += 1

    def polled(self) -> int:
        with self.lock:
            return self.polls


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# The drivers of runs A, B and C.
HANDOVERS = {
    "async": ("async", "async", "async"),
    "sync": ("sync", "sync", "sync"),
    "worker_to_trigger_and_back": ("sync", "async", "sync"),
}


@pytest.mark.parametrize("handover", sorted(HANDOVERS))
def test_handover_to_and_from_a_fast_clock_worker(
    warehouse_uri: str, fresh_schema: str, handover: str
) -> None:
    poll_s = 0.2
    sim = simulator("Europe/Helsinki", "eu", now=T0)
    t1, t2 = T0 + STEP, T0 + 2 * STEP
    truths = [sim.ground_truth().live_status(as_of=t) for t in (T0, t1, t2)]
    assert truth_rows(truths[1]) - truth_rows(truths[0])
    assert truth_rows(truths[2]) - truth_rows(truths[1])
    drivers = HANDOVERS[handover]
    with served(sim) as settings:

        def run(poller: Poller) -> None:
            try:
                poller.result = livekit.run_loop(
                    poller.driver, settings, warehouse_uri, fresh_schema, integration=INTEGRATION,
                    run_id=poller.run_id, window=poller.window, poll_seconds=poll_s, clock=poller.clock,
                    owner_check_seconds=0.05, on_poll=poller.count,
                )  # fmt: skip
            except BaseException as exc:
                poller.error = exc

        def start(poller: Poller) -> threading.Thread:
            thread = threading.Thread(target=run, args=(poller,))
            thread.start()
            return thread

        def owner() -> str | None:
            with store.connect(warehouse_uri, fresh_schema) as conn:
                return live.owner(conn, fresh_schema, integration=INTEGRATION)

        # Run A (correct clock) polls an interval's window of the usual length.
        now = db_now(warehouse_uri)
        a = Poller("scheduled__a", loop.PollWindow(now - timedelta(minutes=1), now + timedelta(minutes=15)),
                   lambda: datetime.now(UTC), drivers[0])  # fmt: skip
        threads = [start(a)]
        wait_for(lambda: a.polled() >= 3)
        # Run B of the next interval, on the fast worker, takes over and polls the next instant.
        now = db_now(warehouse_uri)
        b = Poller("scheduled__b", loop.PollWindow(now, now + timedelta(minutes=15)), fast_clock, drivers[1])
        threads.append(start(b))
        wait_for(lambda: owner() == b.run_id and b.polled() >= 1)
        sim.clock.set(t1)
        seen = b.polled()
        wait_for(lambda: b.polled() >= seen + 2)
        # The owner row B keeps is on the warehouse's clock: a later run can take over.
        assert_nothing_stored_from_the_future(warehouse_uri, fresh_schema)
        # Run C (correct clock) of the interval after takes over from the fast worker.
        now = db_now(warehouse_uri)
        c = Poller(
            "scheduled__c",
            loop.PollWindow(now, now + timedelta(seconds=2)),
            lambda: datetime.now(UTC),
            drivers[2],
        )
        threads.append(start(c))
        wait_for(lambda: owner() == c.run_id and c.polled() >= 1)
        sim.clock.set(t2)
        for thread in threads:
            thread.join(timeout=30)

    assert (a.error, b.error, c.error) == (None, None, None)
    assert a.result is not None
    assert b.result is not None
    assert c.result is not None
    assert (a.result.end_reason, a.result.ended_by) == (loop.HANDED_OVER, b.run_id)
    assert (b.result.end_reason, b.result.ended_by, b.result.took_over_from) == (
        loop.HANDED_OVER,
        c.run_id,
        a.run_id,
    )
    assert (c.result.end_reason, c.result.took_over_from) == (loop.WINDOW_CLOSED, b.run_id)
    assert b.result.worker_clock_skew_s is not None
    assert 590 < b.result.worker_clock_skew_s < 610
    # No overlap and no gap across both handovers, on the one clock.
    runs = [a.result.polls, b.result.polls, c.result.polls]
    for before, after in itertools.pairwise(runs):
        assert max(p.observed_at for p in before) < min(p.started_at for p in after)
    times = sorted(p.observed_at for p in itertools.chain(*runs))
    gaps = [(y - x).total_seconds() for x, y in itertools.pairwise(times)]
    assert max(gaps) <= poll_s + 0.5, gaps
    # Every instant was polled, so every status the simulator showed is in the log, and the
    # current rows are the last instant's: nothing froze behind the fast worker's snapshots.
    log = table(warehouse_uri, fresh_schema, "agent_status_live_log")
    assert stored_rows(log) == set().union(*(truth_rows(t) for t in truths))
    current = table(warehouse_uri, fresh_schema, "agent_status_live")
    assert stored_rows(current) == truth_rows(truths[2])
    assert_nothing_stored_from_the_future(warehouse_uri, fresh_schema)
    assert owner() is None  # C released the poll at its deadline
