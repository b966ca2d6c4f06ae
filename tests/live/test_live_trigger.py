"""The live poll as Airflow runs it: the task prepares and defers, :class:`LiveStatusTrigger` polls
in the triggerer, the task resumes on the trigger's one event. The trigger runs for real here
(its ``run()`` on an event loop, Airflow connections read with Airflow's asynchronous lookup),
against the simulator over HTTP and a real PostgreSQL; the simulator's ground truth is the oracle.

A triggerer restart is played both ways it happens: the trigger cancelled (a triggerer shutting
down) and the process holding it killed (a triggerer that crashed). Either way a trigger re-created
from the stored arguments continues the same claim, polls at once, and writes no duplicate.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.eightbyeight import EightByEightSettings
from acdflow.eightbyeight.errors import ApiError, AuthenticationError, TransientApiError
from acdflow.factory import NOT_RETRYABLE
from acdflow.live.trigger import FAILED, LivePollError, LiveStatusTrigger, summary_from_event
from acdflow.pipeline import live_status as loop
from acdflow.pipeline import live_timing
from acdflow.pipeline.steps import Step
from acdflow.runtime import RunInfo
from acdflow_dev.compare import STATUS_COLUMNS
from acdflow_dev.embedded import airflow_conn_from_uri
from acdflow_dev.sim import LiveStatusTruth, Simulator
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET, FIFTEEN, simulator, start_pipeline
from tests.live import livekit

# A Sunday morning in Helsinki with agents at work; six minutes apart, statuses change.
T0 = datetime(2026, 10, 25, 7, 10, tzinfo=UTC)
T1 = T0 + timedelta(minutes=6)
INTEGRATION = "trig"
EIGHT = "eightbyeight_trig"
POLL_S = 0.2


def truth_rows(truth: LiveStatusTruth) -> set[tuple[Any, ...]]:
    return {tuple(getattr(s, c) for c in STATUS_COLUMNS) for s in truth.statuses}


def stored(uri: str, schema: str, table: str) -> list[tuple[Any, ...]]:
    rows = livekit.rows(uri, f'SELECT * FROM "{schema}".{table} WHERE integration = %s', INTEGRATION)
    return [tuple(r[c] for c in STATUS_COLUMNS) for r in rows]


def owner_row(uri: str, schema: str) -> dict[str, Any] | None:
    rows = livekit.rows(
        uri,
        f'SELECT run_id, claimed_at, heartbeat_at FROM "{schema}".live_poll_owner WHERE integration = %s',
        INTEGRATION,
    )
    return rows[0] if rows else None


def db_now(uri: str) -> datetime:
    (row,) = livekit.rows(uri, "SELECT clock_timestamp() AS now")
    return row["now"]  # type: ignore[no-any-return]


@dataclass
class World:
    """The simulator served on loopback, the warehouse, and the two Airflow connections."""

    sim: Simulator
    settings: EightByEightSettings
    uri: str
    schema: str
    warehouse_conn_id: str

    def trigger_kwargs(
        self, window: loop.PollWindow, run_id: str = "scheduled__t", **extra: Any
    ) -> dict[str, Any]:
        return {
            "integration": INTEGRATION,
            "eightbyeight_conn_id": EIGHT,
            "warehouse_conn_id": self.warehouse_conn_id,
            "schema": self.schema,
            "run_id": run_id,
            "window_start": window.start.isoformat(),
            "window_deadline": window.deadline.isoformat(),
            "poll_seconds": POLL_S,
            "owner_check_seconds": 0.05,
            **extra,
        }

    def window(self, seconds: float) -> loop.PollWindow:
        now = db_now(self.uri)
        return loop.PollWindow(now - timedelta(seconds=1), now + timedelta(seconds=seconds))


@pytest.fixture
def world(warehouse_uri: str, fresh_schema: str) -> Iterator[World]:
    sim = simulator("Europe/Helsinki", "eu", now=T0)
    with sim.serve(host="127.0.0.1", port=0) as server:
        settings = EightByEightSettings(
            CLIENT_ID,
            CLIENT_SECRET,
            "eu",
            "Europe/Helsinki",
            base_url=server.base_url,
            integration=INTEGRATION,
        )
        conn_id = f"wh_{fresh_schema}"
        with livekit.airflow_connections(
            **{
                EIGHT: livekit.eightbyeight_connection(settings),
                conn_id: airflow_conn_from_uri(warehouse_uri),
            }
        ):
            livekit.migrate(warehouse_uri, fresh_schema)  # as the deferring task does
            yield World(sim, settings, warehouse_uri, fresh_schema, conn_id)


def run_trigger(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event one trigger fires, on an event loop of its own."""

    async def main() -> list[dict[str, Any]]:
        return [event.payload async for event in LiveStatusTrigger(**kwargs).run()]

    return asyncio.run(main())


# --- what the task hands over ---------------------------------------------------------------------


def test_the_task_defers_with_names_and_times_only_and_a_bounded_timeout(world: World) -> None:
    spec = IntegrationSpec(name=INTEGRATION, conn_id=EIGHT, start_date=T0, live_poll_seconds=15)
    interval_end = db_now(world.uri).replace(second=0, microsecond=0)
    run = RunInfo(
        dag_id=f"{INTEGRATION}__live_status",
        run_id="scheduled__now",
        task_id="poll_live_status",
        try_number=1,
        interval_start=interval_end - FIFTEEN,
        interval_end=interval_end,
    )
    step = Step(spec, WarehouseSpec(world.warehouse_conn_id, world.schema), run, lambda _task_id: None)
    before = db_now(world.uri)
    deferral = loop.poll_live_status(step)
    after = db_now(world.uri)

    window = loop.polling_window(interval_end, 15)
    # The deferral ends 10 minutes after the window's deadline, however late the task started.
    assert window.deadline - after + live_timing.DEFERRAL_MARGIN <= deferral.timeout
    assert deferral.timeout <= window.deadline - before + live_timing.DEFERRAL_MARGIN
    assert (
        live_timing.deferral_timeout(window, window.deadline + timedelta(hours=1))
        == live_timing.DEFERRAL_MARGIN
    )

    classpath, kwargs = deferral.trigger.serialize()
    assert classpath == "acdflow.live.trigger.LiveStatusTrigger"
    stored_form = json.dumps(kwargs)  # what Airflow keeps in its metadata database
    assert kwargs == {
        "integration": INTEGRATION,
        "eightbyeight_conn_id": EIGHT,
        "warehouse_conn_id": world.warehouse_conn_id,
        "schema": world.schema,
        "run_id": "scheduled__now",
        "window_start": window.start.isoformat(),
        "window_deadline": window.deadline.isoformat(),
        "poll_seconds": 15.0,
        "owner_check_seconds": loop.OWNER_CHECK_SECONDS,
    }
    warehouse_password = airflow_conn_from_uri(world.uri).get("password")
    for secret in (CLIENT_SECRET, warehouse_password):
        assert not secret or secret not in stored_form
    # The stored form re-creates an equal trigger, importable by its class path.
    module, _, name = classpath.rpartition(".")
    recreated = getattr(__import__(module, fromlist=[name]), name)(**json.loads(stored_form))
    assert recreated.serialize() == (classpath, kwargs)
    assert recreated.window == window


# --- one window ----------------------------------------------------------------------------------


def test_the_trigger_polls_its_window_and_fires_one_event(world: World) -> None:
    truth_0 = world.sim.ground_truth().live_status(as_of=T0)
    truth_1 = world.sim.ground_truth().live_status(as_of=T1)
    assert truth_rows(truth_1) - truth_rows(truth_0)
    kwargs = world.trigger_kwargs(world.window(2.5))
    events: list[list[dict[str, Any]]] = []
    runner = threading.Thread(target=lambda: events.append(run_trigger(kwargs)))
    runner.start()
    livekit.wait_for(lambda: len(stored(world.uri, world.schema, "agent_status_live")) > 0)
    world.sim.clock.set(T1)  # statuses change while the trigger polls
    runner.join(timeout=60)

    ((event,),) = events
    assert event["status"] == "done"
    summary = event["summary"]
    assert (summary["end_reason"], summary["ended_by"], summary["took_over_from"]) == (
        loop.WINDOW_CLOSED,
        None,
        None,
    )
    assert summary["polls"] >= 5
    assert summary["failed_polls"] == 0
    # One token for the whole window; every other request is one page per poll.
    assert (summary["token_fetches"], summary["api_requests"]) == (1, summary["polls"] + 1)
    assert sorted(summary["skipped_agents"]) == sorted(truth_1.skipped)
    json.dumps(summary)  # goes to load_runs.details and XCom
    # The warehouse holds exactly what the simulator showed: now, and every change on the way.
    assert set(stored(world.uri, world.schema, "agent_status_live")) == truth_rows(truth_1)
    log = stored(world.uri, world.schema, "agent_status_live_log")
    assert set(log) == truth_rows(truth_0) | truth_rows(truth_1)
    assert len(log) == len(set(log))
    assert summary["changes"] == len(log)
    assert owner_row(world.uri, world.schema) is None  # released at the deadline
    assert summary_from_event(event) == summary


# --- a triggerer restart ---------------------------------------------------------------------------

CHILD = """
import asyncio, json, sys
from acdflow.live.trigger import LiveStatusTrigger

async def main():
    async for event in LiveStatusTrigger(**json.loads(sys.argv[1])).run():
        print(json.dumps(event.payload), flush=True)

asyncio.run(main())
"""


@dataclass
class Instance:
    """One trigger instance, in this process (stopped by cancelling it, as a triggerer shutting
    down does) or in a process of its own (stopped by SIGKILL, as when a triggerer crashes)."""

    kwargs: dict[str, Any]
    how: str
    events: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    _loop: asyncio.AbstractEventLoop | None = None
    _task: asyncio.Task[Any] | None = None
    _thread: threading.Thread | None = None
    _proc: subprocess.Popen[str] | None = None

    def start(self) -> Instance:
        if self.how == "killed":
            self._proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, json.dumps(self.kwargs)],
                env=dict(os.environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        else:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()))
            self._thread.start()
        return self

    async def _main(self) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            async for event in LiveStatusTrigger(**self.kwargs).run():
                self.events.append(event.payload)
        except asyncio.CancelledError:
            self.cancelled = True

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            out, _ = self._proc.communicate(timeout=30)
            assert self._proc.returncode == -signal.SIGKILL
            self.events.extend(json.loads(line) for line in out.splitlines() if line.startswith("{"))
            return
        assert self._loop is not None
        assert self._task is not None
        assert self._thread is not None
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=30)
        assert self.cancelled

    def join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive()


class Heartbeats:
    """Each distinct heartbeat the owner row shows: one per committed poll."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen: list[datetime] = []

    def sample(self) -> int:
        row = owner_row(self.world.uri, self.world.schema)
        if row is not None and (not self.seen or row["heartbeat_at"] != self.seen[-1]):
            self.seen.append(row["heartbeat_at"])
        return len(self.seen)


@pytest.mark.parametrize("how", ["cancelled", "killed"])
def test_a_trigger_recreated_mid_window_continues_without_gap_or_duplicates(world: World, how: str) -> None:
    truth_0 = world.sim.ground_truth().live_status(as_of=T0)
    truth_1 = world.sim.ground_truth().live_status(as_of=T1)
    changed = truth_rows(truth_1) - truth_rows(truth_0)
    assert changed
    # A process of its own first imports Airflow, which takes a few seconds on a busy machine.
    window = world.window(10 if how == "cancelled" else 45)
    kwargs = world.trigger_kwargs(window)
    beats = Heartbeats(world)

    first = Instance(kwargs, how).start()
    livekit.wait_for(lambda: beats.sample() >= 3, timeout=60)
    first.stop()
    assert first.events == []  # stopped, not finished: it fired nothing
    held = owner_row(world.uri, world.schema)
    assert held is not None
    assert held["run_id"] == kwargs["run_id"]  # not released: the run still owns the poll
    last_before = held["heartbeat_at"]
    assert set(stored(world.uri, world.schema, "agent_status_live_log")) == truth_rows(truth_0)

    # The triggerer comes back and re-creates the trigger from its stored arguments.
    down = 0.5
    time.sleep(down)
    _classpath, stored_kwargs = LiveStatusTrigger(**kwargs).serialize()
    second = Instance(json.loads(json.dumps(stored_kwargs)), "cancelled").start()
    polled = len(beats.seen) + 2
    livekit.wait_for(lambda: beats.sample() >= polled, timeout=30)
    world.sim.clock.set(T1)  # statuses change after the restart
    second.join(timeout=90)

    (event,) = second.events
    assert event["status"] == "done"
    summary = event["summary"]
    # The same claim carried on: no takeover, no second owner, released at the deadline.
    assert summary["claimed_at"] == held["claimed_at"].isoformat()
    assert (summary["end_reason"], summary["took_over_from"], summary["ended_by"]) == (
        loop.WINDOW_CLOSED,
        None,
        None,
    )
    assert owner_row(world.uri, world.schema) is None
    # No overlap and no gap beyond the restart: the re-created trigger polled at once.
    first_after = datetime.fromisoformat(summary["first_poll_at"])
    assert last_before < first_after < last_before + timedelta(seconds=down + POLL_S + 5)
    assert all(b > a for a, b in itertools.pairwise(beats.seen))
    # No duplicate: re-polling the unchanged statuses wrote nothing; only the real changes count.
    assert summary["changes"] == len(changed)
    log = stored(world.uri, world.schema, "agent_status_live_log")
    assert set(log) == truth_rows(truth_0) | truth_rows(truth_1)
    assert len(log) == len(set(log))
    assert set(stored(world.uri, world.schema, "agent_status_live")) == truth_rows(truth_1)


def test_two_instances_of_one_trigger_write_each_change_once(world: World) -> None:
    """Airflow may briefly run a trigger twice: it moves triggers away from a triggerer it deems
    unhealthy, which may still be running them. Both instances poll as the same run; the
    warehouse still gets each change once and the current rows end at the latest snapshot."""
    truth_0 = world.sim.ground_truth().live_status(as_of=T0)
    truth_1 = world.sim.ground_truth().live_status(as_of=T1)
    kwargs = world.trigger_kwargs(world.window(3))
    events: list[list[dict[str, Any]]] = []
    runners = [threading.Thread(target=lambda: events.append(run_trigger(kwargs))) for _ in range(2)]
    for runner in runners:
        runner.start()
    livekit.wait_for(lambda: len(stored(world.uri, world.schema, "agent_status_live")) > 0)
    world.sim.clock.set(T1)
    for runner in runners:
        runner.join(timeout=60)

    assert [event["status"] for (event,) in events] == ["done", "done"]
    assert all(event["summary"]["polls"] >= 3 for (event,) in events)
    log = stored(world.uri, world.schema, "agent_status_live_log")
    assert set(log) == truth_rows(truth_0) | truth_rows(truth_1)
    assert len(log) == len(set(log))
    # Between them they logged each change exactly once.
    assert sum(event["summary"]["log_rows"] for (event,) in events) == len(log)
    assert set(stored(world.uri, world.schema, "agent_status_live")) == truth_rows(truth_1)
    assert owner_row(world.uri, world.schema) is None


# --- tokens in a long-lived process ---------------------------------------------------------------


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")


def test_tokens_stay_out_of_logs_and_events_without_growing_the_masker(world: World) -> None:
    from airflow.providers.common.compat.sdk import redact

    # A renewal mid-window (every token revoked) and an error answer, with every library logging
    # at DEBUG: httpx and httpcore log their requests and headers' handling at that level.
    kwargs = world.trigger_kwargs(world.window(3), poll_seconds=0.3)
    world.sim.faults.fail_next(["revoke", "503"], path_contains="/agents")
    handler = _Everything()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore", "acdflow", "airflow")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        (event,) = run_trigger(kwargs)
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    assert event["status"] == "done", event
    tokens = world.sim.issued_tokens()
    assert len(tokens) >= 2  # the revocation made the trigger fetch a second one
    assert event["summary"]["token_fetches"] == len(tokens)
    logged = "\n".join(handler.lines)
    assert "httpcore" in logged  # the capture saw the libraries' DEBUG records
    assert "Bearer" not in logged
    for token in tokens:
        assert token not in logged
        assert token not in json.dumps(event)
        # Not registered with Airflow's secrets masker, which would keep it for the process's life.
        assert redact(token) == token


# --- errors ----------------------------------------------------------------------------------------


def test_a_credential_8x8_refuses_fails_the_task_with_its_class_and_no_secret(world: World) -> None:
    wrong = "wrong-secret-4471"
    bad = livekit.eightbyeight_connection(world.settings)
    bad["password"] = wrong
    with livekit.airflow_connections(**{EIGHT: bad}):
        (event,) = run_trigger(world.trigger_kwargs(world.window(5)))
    assert event["status"] == FAILED
    text = json.dumps(event)
    assert wrong not in text
    assert CLIENT_SECRET not in text
    with pytest.raises(AuthenticationError, match="refused the credentials") as caught:
        summary_from_event(event)
    # The class survives, so the retry policy does not retry a wrong credential.
    assert "acdflow.eightbyeight.errors.AuthenticationError" in NOT_RETRYABLE
    assert caught.value.integration == INTEGRATION
    assert wrong not in str(caught.value)


def test_a_fatal_answer_stops_the_trigger_at_once_with_a_clear_error(world: World) -> None:
    world.sim.faults.fail_next([403], path_contains="/agents")
    (event,) = run_trigger(world.trigger_kwargs(world.window(30)))
    with pytest.raises(ApiError, match="region is probably wrong"):
        summary_from_event(event)
    assert stored(world.uri, world.schema, "agent_status_live") == []


def test_transient_failures_skip_polls_and_three_in_a_row_fail_the_task(world: World) -> None:
    # Each failed poll is the client's five attempts (backoff 1 s, 2 s, ...); keep it to three polls.
    world.sim.faults.fail_next([503] * 5, path_contains="/agents")  # poll 1 fails, poll 2 succeeds
    kwargs = world.trigger_kwargs(world.window(120), poll_seconds=0.5)
    events: list[list[dict[str, Any]]] = []
    runner = threading.Thread(target=lambda: events.append(run_trigger(kwargs)))
    runner.start()
    livekit.wait_for(lambda: len(stored(world.uri, world.schema, "agent_status_live")) > 0, timeout=60)
    world.sim.faults.fail_next([503] * 15, path_contains="/agents")  # polls 3, 4 and 5 fail
    runner.join(timeout=300)
    ((event,),) = events
    with pytest.raises(TransientApiError, match="failed 5 times") as caught:
        summary_from_event(event)
    assert caught.value.status == 503
    # Still the owner: the task's retry continues this run's claim.
    held = owner_row(world.uri, world.schema)
    assert held is not None
    assert held["run_id"] == kwargs["run_id"]


def test_an_unknown_warehouse_connection_is_a_retried_error_that_says_which(
    world: World, airflow_db: Path
) -> None:
    (event,) = run_trigger(
        {**world.trigger_kwargs(world.window(5)), "warehouse_conn_id": "no_such_warehouse"}
    )
    with pytest.raises(LivePollError, match="no_such_warehouse"):
        summary_from_event(event)
    with pytest.raises(LivePollError, match="without an event"):
        summary_from_event(None)


# --- dag.test() runs the trigger in-process --------------------------------------------------------


def test_dag_test_defers_runs_the_trigger_inline_and_records_one_step(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    airflow_db: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipe = start_pipeline(
        request, tmp_path, warehouse_uri, fresh_schema, name="trig_dag", timezone="Europe/Helsinki",
        region="eu", clock=T0,
    )  # fmt: skip
    caplog.set_level(logging.INFO)
    interval_end = T0.replace(minute=0)
    pipe.run(interval_end - FIFTEEN, clock=T0, kind="live_status")

    messages = [r.getMessage() for r in caplog.records]
    assert any("defers its live poll to the triggerer" in m for m in messages)
    # Airflow recorded the deferral: the task instance points at the trigger dag.test ran inline,
    # stored with the arguments a triggerer would re-create it from, and a timeout 10 minutes
    # after the (past) window's deadline, i.e. 10 minutes after the deferral.
    with sqlite3.connect(airflow_db / "airflow.db") as meta:
        ((state, trigger_id, trigger_timeout, started),) = meta.execute(
            "SELECT state, trigger_id, trigger_timeout, start_date FROM task_instance"
            " WHERE dag_id = ? AND task_id = 'poll_live_status'",
            (f"{pipe.name}__live_status",),
        ).fetchall()
        (classpath, kwargs) = meta.execute(
            "SELECT classpath, kwargs FROM trigger WHERE id = ?", (trigger_id,)
        ).fetchone()
    assert state == "success"
    assert classpath == "acdflow.live.trigger.LiveStatusTrigger"
    assert CLIENT_SECRET not in kwargs
    deadline = interval_end + FIFTEEN + timedelta(minutes=1)
    assert json.loads(kwargs)["window_deadline"] == deadline.isoformat()
    waited = datetime.fromisoformat(trigger_timeout) - datetime.fromisoformat(started)
    # Counted from the deferral, a moment after the task started.
    assert live_timing.DEFERRAL_MARGIN <= waited < live_timing.DEFERRAL_MARGIN + timedelta(minutes=1)
    (step,) = pipe.query(
        "SELECT * FROM {schema}.load_runs WHERE integration = %s AND step = 'poll_live_status'", pipe.name
    )
    assert step["status"] == "success"
    assert (step["details"]["polls"], step["details"]["end_reason"]) == (1, loop.WINDOW_CLOSED)
    truth = pipe.sim.ground_truth().live_status(as_of=T0)
    rows = pipe.query("SELECT * FROM {schema}.agent_status_live WHERE integration = %s", pipe.name)
    assert {tuple(r[c] for c in STATUS_COLUMNS) for r in rows} == truth_rows(truth)
