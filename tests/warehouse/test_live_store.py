"""Live agent status in a real PostgreSQL: current rows, the change log, poll ownership and the loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from acdflow.eightbyeight.client import ClientStats
from acdflow.pipeline import live_status as loop
from acdflow.transform.agent_status import LiveStatus
from acdflow.warehouse import live, store

T0 = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
OBS = datetime(2026, 11, 10, 18, 30, tzinfo=UTC)
ACME = "acme"


def status(
    agent_id: str,
    name: str = "Available",
    start: datetime = T0,
    *,
    code: str | None = None,
    end: datetime | None = None,
    agent_name: str | None = None,
    observed_at: datetime = OBS,
) -> LiveStatus:
    status_name = f"{name} ({code})" if code and name != "LoggedOut" else name
    return LiveStatus(
        agent_id=agent_id,
        agent_name=agent_name if agent_name is not None else f"Agent {agent_id}",
        status=name,
        status_code=code,
        status_name=status_name,
        start_time=start,
        end_time=end,
        observed_at=observed_at,
    )


@pytest.fixture
def conn(warehouse_uri: str, fresh_schema: str) -> Iterator[store.Connection]:
    with store.connect(warehouse_uri, fresh_schema) as connection:
        yield connection


def rows(conn: store.Connection, schema: str, table: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT * FROM {}.{} ORDER BY agent_id, start_time, status_name").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
        return cur.fetchall()


def apply(
    conn: store.Connection, schema: str, statuses: list[LiveStatus], observed_at: datetime = OBS
) -> live.SnapshotResult:
    return live.apply_snapshot(conn, schema, integration=ACME, statuses=statuses, observed_at=observed_at)


# --- current rows and the change log -------------------------------------------------------------


def test_same_state_twice_is_one_log_row_and_leaves_the_current_row_alone(
    conn: store.Connection, fresh_schema: str
) -> None:
    snapshot = [
        status("a1", "OnBreak", code="Lunch"),
        status("a2", "LoggedOut", T0 - timedelta(hours=2), code="End of shift", end=T0 - timedelta(hours=2)),
        status("a3", "Available", T0 + timedelta(milliseconds=17)),
    ]
    first = apply(conn, fresh_schema, snapshot)
    assert (first.agents, first.changes, first.logged, first.touched) == (3, 3, 3, 0)
    current = rows(conn, fresh_schema, "agent_status_live")
    assert [(r["agent_id"], r["status_name"], r["start_time"], r["end_time"]) for r in current] == [
        ("a1", "OnBreak (Lunch)", T0, None),
        ("a2", "LoggedOut", T0 - timedelta(hours=2), T0 - timedelta(hours=2)),
        ("a3", "Available", T0 + timedelta(milliseconds=17), None),
    ]
    assert {r["observed_at"] for r in current} == {OBS}

    again = apply(conn, fresh_schema, snapshot, OBS + timedelta(seconds=30))
    assert (again.changes, again.logged, again.touched) == (0, 0, 0)
    assert rows(conn, fresh_schema, "agent_status_live") == current  # observed_at = first seen
    assert len(rows(conn, fresh_schema, "agent_status_live_log")) == 3


def test_a_status_change_updates_the_current_row_and_appends_to_the_log(
    conn: store.Connection, fresh_schema: str
) -> None:
    apply(conn, fresh_schema, [status("a1", "Available"), status("a2", "Available")])
    later = OBS + timedelta(seconds=30)
    t1 = T0 + timedelta(minutes=7, milliseconds=250)
    result = apply(conn, fresh_schema, [status("a1", "Handling", t1), status("a2", "Available")], later)
    assert (result.changes, result.logged) == (1, 1)
    current = {r["agent_id"]: r for r in rows(conn, fresh_schema, "agent_status_live")}
    assert (current["a1"]["status_name"], current["a1"]["start_time"]) == ("Handling", t1)
    assert current["a1"]["observed_at"] == later
    assert current["a2"]["observed_at"] == OBS
    log = [
        (r["agent_id"], r["status_name"], r["start_time"])
        for r in rows(conn, fresh_schema, "agent_status_live_log")
    ]
    assert log == [("a1", "Available", T0), ("a1", "Handling", t1), ("a2", "Available", T0)]
    # A reason-code change keeps the start (8x8 counts timeOnStatus per status) but is a change.
    apply(conn, fresh_schema, [status("a1", "Handling", t1, code="Sales")], later + timedelta(seconds=30))
    assert [
        r["status_name"] for r in rows(conn, fresh_schema, "agent_status_live_log") if r["agent_id"] == "a1"
    ] == [
        "Available",
        "Handling",
        "Handling (Sales)",
    ]


@pytest.mark.parametrize(
    ("shift_ms", "is_change"),
    [(2000, False), (-2000, False), (1, False), (-1999, False), (2001, True), (-2001, True), (65_000, True)],
)
def test_start_jitter_of_two_seconds_or_less_is_no_change(
    conn: store.Connection, fresh_schema: str, shift_ms: int, is_change: bool
) -> None:
    apply(conn, fresh_schema, [status("a1", "OnBreak", code="Lunch")])
    moved = T0 + timedelta(milliseconds=shift_ms)
    result = apply(
        conn, fresh_schema, [status("a1", "OnBreak", moved, code="Lunch")], OBS + timedelta(seconds=30)
    )
    assert result.changes == result.logged == int(is_change)
    (current,) = rows(conn, fresh_schema, "agent_status_live")
    # Within the jitter the start first observed is kept.
    assert current["start_time"] == (moved if is_change else T0)
    assert len(rows(conn, fresh_schema, "agent_status_live_log")) == 1 + int(is_change)


def test_jitter_never_hides_a_different_status(conn: store.Connection, fresh_schema: str) -> None:
    apply(conn, fresh_schema, [status("a1", "Offering")])
    result = apply(
        conn, fresh_schema, [status("a1", "Handling", T0 + timedelta(seconds=1))], OBS + timedelta(seconds=30)
    )
    assert result.changes == 1


def test_other_content_is_updated_in_place_without_a_log_row(
    conn: store.Connection, fresh_schema: str
) -> None:
    logout = T0 - timedelta(hours=1)
    apply(conn, fresh_schema, [status("a1", "LoggedOut", logout, code="End of shift", end=logout)])
    renamed = status("a1", "LoggedOut", logout, code="Sick", end=logout, agent_name="Renamed")
    result = apply(conn, fresh_schema, [renamed], OBS + timedelta(seconds=30))
    assert (result.changes, result.logged, result.touched) == (0, 0, 1)
    (current,) = rows(conn, fresh_schema, "agent_status_live")
    assert (current["agent_name"], current["status_code"], current["observed_at"]) == ("Renamed", "Sick", OBS)
    assert len(rows(conn, fresh_schema, "agent_status_live_log")) == 1


def test_an_older_snapshot_never_moves_the_current_row_back(
    conn: store.Connection, fresh_schema: str
) -> None:
    t1 = T0 + timedelta(minutes=3)
    apply(conn, fresh_schema, [status("a1", "Handling", t1)], OBS)
    stale = apply(conn, fresh_schema, [status("a1", "Available", T0)], OBS - timedelta(seconds=5))
    assert (stale.changes, stale.logged) == (0, 0)
    (current,) = rows(conn, fresh_schema, "agent_status_live")
    assert (current["status_name"], current["start_time"]) == ("Handling", t1)


def test_empty_snapshot_and_all_null_columns(conn: store.Connection, fresh_schema: str) -> None:
    assert apply(conn, fresh_schema, []).agents == 0
    nameless = replace(status("a1"), agent_name=None)
    assert apply(conn, fresh_schema, [nameless]).changes == 1
    with pytest.raises(ValueError, match="repeat"):
        apply(conn, fresh_schema, [nameless, nameless])


def test_concurrent_pollers_never_duplicate(warehouse_uri: str, fresh_schema: str) -> None:
    """Four writers apply the same sequence of snapshots at once: every change is logged once."""
    agents = [f"a{i:03d}" for i in range(200)]
    names = ("Available", "Offering", "Handling", "WrapUp")
    snapshots = []
    for step in range(6):
        observed = OBS + timedelta(seconds=30 * step)
        snapshots.append(
            (
                observed,
                [
                    # Every third agent changes status on each step; the others stay put.
                    status(
                        a,
                        names[(step if i % 3 == 0 else 0) % 4],
                        T0 + timedelta(seconds=30 * (step if i % 3 == 0 else 0)),
                    )
                    for i, a in enumerate(agents)
                ],
            )
        )
    with store.connect(warehouse_uri, fresh_schema):
        pass  # migrate once up front
    logged: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def poller() -> None:
        try:
            with store.connect(warehouse_uri, fresh_schema) as conn:
                barrier.wait()
                for observed, statuses in snapshots:
                    logged.append(apply(conn, fresh_schema, statuses, observed).logged)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poller) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(warehouse_uri) as conn:
        ident = sql.Identifier(fresh_schema)
        total, distinct = conn.execute(
            sql.SQL(
                "SELECT count(*), count(DISTINCT (agent_id, start_time, status_name))"
                " FROM {}.agent_status_live_log"
            ).format(ident)
        ).fetchone() or (0, 0)
        current = conn.execute(
            sql.SQL("SELECT agent_id, status_name, observed_at FROM {}.agent_status_live ORDER BY 1").format(
                ident
            )
        ).fetchall()
    expected_log = len(agents) + (len(agents) + 2) // 3 * 5
    assert total == distinct == sum(logged) == expected_log
    _last_observed, last = snapshots[-1]
    assert [(a, s) for a, s, _ in current] == [(s.agent_id, s.status_name) for s in last]


# --- poll ownership ------------------------------------------------------------------------------

STALE = timedelta(seconds=120)


def claim(
    conn: store.Connection, schema: str, run_id: str, window_start: datetime, now: datetime
) -> live.Claim:
    return live.claim(
        conn, schema, integration=ACME, run_id=run_id, window_start=window_start, now=now, stale_after=STALE
    )


def test_ownership_claim_and_handover(conn: store.Connection, fresh_schema: str) -> None:
    e1 = T0 + timedelta(minutes=15)  # run 1 polls for [T0, e1): its window starts at e1
    e2 = e1 + timedelta(minutes=15)
    first = claim(conn, fresh_schema, "run1", e1, e1 + timedelta(seconds=4))
    assert (first.owned, first.owner, first.previous_owner) == (True, "run1", None)
    # A second run of the same interval does not take the poll from a live owner.
    twin = claim(conn, fresh_schema, "run1-manual", e1, e1 + timedelta(seconds=9))
    assert (twin.owned, twin.owner) == (False, "run1")
    assert live.heartbeat(conn, fresh_schema, integration=ACME, run_id="run1", now=e1 + timedelta(minutes=5))
    # The run of the next interval takes over: run 1 claimed before run 2's window began.
    second = claim(conn, fresh_schema, "run2", e2, e2 + timedelta(seconds=3))
    assert (second.owned, second.owner, second.previous_owner) == (True, "run2", "run1")
    assert not live.heartbeat(
        conn, fresh_schema, integration=ACME, run_id="run1", now=e2 + timedelta(seconds=10)
    )
    assert live.owner(conn, fresh_schema, integration=ACME) == "run2"
    assert not live.release(conn, fresh_schema, integration=ACME, run_id="run1")
    # A retry of run 1 (older window) cannot take it back while run 2 is alive ...
    retry = claim(conn, fresh_schema, "run1", e1, e2 + timedelta(seconds=40))
    assert (retry.owned, retry.owner) == (False, "run2")
    # ... a retry of run 2 itself gets it back with its original claim time ...
    again = claim(conn, fresh_schema, "run2", e2, e2 + timedelta(seconds=50))
    assert (again.owned, again.claimed_at) == (True, e2 + timedelta(seconds=3))
    # ... and once run 2's heartbeat is stale (dead worker), anyone may take over.
    late = e2 + timedelta(seconds=50) + STALE + timedelta(seconds=1)
    rescue = claim(conn, fresh_schema, "run1", e1, late)
    assert (rescue.owned, rescue.previous_owner) == (True, "run2")
    assert live.release(conn, fresh_schema, integration=ACME, run_id="run1")
    assert live.owner(conn, fresh_schema, integration=ACME) is None


def test_ownership_is_per_integration(conn: store.Connection, fresh_schema: str) -> None:
    assert claim(conn, fresh_schema, "run1", T0, T0).owned
    other = live.claim(
        conn, fresh_schema, integration="other", run_id="run9", window_start=T0, now=T0, stale_after=STALE
    )
    assert other.owned


# --- the loop with a fake 8x8 and a fake clock ---------------------------------------------------


class FakeAgents:
    """A stand-in for the client: serves whatever ``agents`` holds, counting requests."""

    def __init__(self, agents: list[dict[str, Any]]) -> None:
        self.agents = agents
        self.stats = ClientStats()

    def iter_live_agents(
        self, metrics: tuple[str, ...] = (), *, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        self.stats.requests_sent += 1
        yield from self.agents


def agent(agent_id: str, status_rt: str = "Available", on_status_ms: int = 60_000) -> dict[str, Any]:
    metrics = {
        "status.rt": status_rt,
        "statusCode.rt": None,
        "timeOnStatus.rt": on_status_ms,
        "lastLogin.rt": "2026-11-10T08:00:00.000Z",
        "lastLogout.rt": None,
        "loggedInTime.rt": 3_600_000,
    }
    return {
        "id": agent_id,
        "name": agent_id.upper(),
        "metrics": [{"key": k, "value": v} for k, v in metrics.items()],
    }


class FakeTime:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_run_whose_window_is_past_polls_exactly_once(conn: store.Connection, fresh_schema: str) -> None:
    fake = FakeAgents([agent("a1"), agent("a2"), {"id": "a3", "name": "Never", "metrics": []}])
    ticks = FakeTime(T0 + timedelta(days=3))
    window = loop.polling_window(T0, 30)
    result = loop.run_poll_loop(
        fake, conn, fresh_schema, integration=ACME, run_id="old", window=window, poll_seconds=30,
        clock=ticks.clock, sleep=ticks.sleep,
    )  # fmt: skip
    assert (len(result.polls), result.end_reason) == (1, loop.WINDOW_CLOSED)
    summary = result.summary()
    assert (summary["agents"], summary["skipped"], summary["changes"], summary["api_requests"]) == (
        3,
        1,
        2,
        1,
    )
    assert "a3" in summary["skipped_agents"]
    assert live.owner(conn, fresh_schema, integration=ACME) is None  # released


def test_a_poller_that_lost_ownership_writes_nothing(conn: store.Connection, fresh_schema: str) -> None:
    assert claim(conn, fresh_schema, "old", T0, T0).owned
    assert claim(conn, fresh_schema, "new", T0 + timedelta(minutes=15), T0 + timedelta(minutes=15)).owned
    record, _ = loop.poll_once(FakeAgents([agent("a1")]), conn, fresh_schema, integration=ACME, run_id="old")
    assert record is None
    assert rows(conn, fresh_schema, "agent_status_live") == []
    record, _ = loop.poll_once(FakeAgents([agent("a1")]), conn, fresh_schema, integration=ACME, run_id="new")
    assert record is not None
    assert record.changes == 1


def test_stated_api_cost() -> None:
    assert loop.api_requests_per_hour(30, 1000) == 128
    assert loop.api_requests_per_hour(30, 1001) == 248
    assert loop.api_requests_per_hour(15, 300) == 248
    assert loop.handover_grace(30) == timedelta(seconds=60)
    assert loop.handover_grace(300) == timedelta(seconds=600)
