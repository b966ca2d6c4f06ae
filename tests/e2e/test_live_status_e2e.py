"""Live agent status end to end: the live DAG against the simulator over HTTP, compared with its
ground truth, plus the handover protocol of two real pollers against a wall-clock simulator."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from acdflow.eightbyeight.client import DEFAULT_LIVE_METRICS, EightByEightClient
from acdflow.eightbyeight.settings import EightByEightSettings
from acdflow.pipeline import live_status as loop
from acdflow.warehouse import live, store
from acdflow_dev.compare import STATUS_COLUMNS
from acdflow_dev.sim import LiveStatusTruth
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET, FIFTEEN, Pipeline, simulator, start_pipeline, utc

pytestmark = pytest.mark.usefixtures("airflow_db")

# (time zone, region, first clock, second clock): each a DST change day in its hemisphere, or none.
CASES = {
    # 2026-11-01 02:00 PDT -> 01:00 PST (09:00 UTC); 08:40 and 08:47 PST.
    "los_angeles": ("America/Los_Angeles", "us", utc("2026-11-01T16:40:00.250+00:00"), timedelta(minutes=7)),
    # 2026-10-25 04:00 EEST -> 03:00 EET (01:00 UTC); 09:10 and 09:16 EET.
    "helsinki": ("Europe/Helsinki", "eu", utc("2026-10-25T07:10:00+00:00"), timedelta(minutes=6)),
    # No DST; 11:05 and 11:12 IST.
    "kolkata": ("Asia/Kolkata", "eu", utc("2026-11-10T05:35:00+00:00"), timedelta(minutes=7)),
    # 2026-04-05 03:00 AEDT -> 02:00 AEST (2026-04-04 16:00 UTC); 10:20 and 10:28 AEST.
    "sydney_autumn": ("Australia/Sydney", "au", utc("2026-04-05T00:20:00+00:00"), timedelta(minutes=8)),
    # 2026-10-04 02:00 AEST -> 03:00 AEDT (2026-10-03 16:00 UTC); 09:40 and 09:45 AEDT.
    "sydney_spring": ("Australia/Sydney", "au", utc("2026-10-03T22:40:00+00:00"), timedelta(minutes=5)),
}


@dataclass
class LivePipeline(Pipeline):
    """The harness's pipeline, running the live DAG by default."""

    def run(
        self,
        interval_start: datetime,
        *,
        clock: datetime | None = None,
        kind: str = "live_status",
        expect: str = "success",
    ) -> Any:
        return super().run(interval_start, clock=clock, kind=kind, expect=expect)

    def poll_at(self, clock: datetime) -> Any:
        """Run the DAG for the interval that ended at the last quarter hour before ``clock``.

        Its polling window is long past on the wall clock, so the run polls exactly once."""
        interval_end = clock.replace(minute=clock.minute - clock.minute % 15, second=0, microsecond=0)
        window = loop.polling_window(interval_end, 30)
        assert window.deadline < datetime.now(UTC), "the test needs a polling window in the past"
        return self.run(interval_end - FIFTEEN, clock=clock)

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.query(
            f"SELECT * FROM {{schema}}.{name} WHERE integration = %s"
            " ORDER BY agent_id, start_time, status_name",
            self.name,
        )

    def poll_steps(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT * FROM {schema}.load_runs WHERE integration = %s AND step = 'poll_live_status'"
            " ORDER BY finished_at",
            self.name,
        )


def _pipeline(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    schema: str,
    *,
    name: str,
    timezone: str,
    region: str,
    clock: datetime,
) -> LivePipeline:
    pipeline: LivePipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        schema,
        name=name,
        timezone=timezone,
        region=region,
        clock=clock,
        pipeline_cls=LivePipeline,
    )
    return pipeline


def as_rows(truth: LiveStatusTruth) -> set[tuple[Any, ...]]:
    return {tuple(getattr(s, c) for c in STATUS_COLUMNS) for s in truth.statuses}


def table_rows(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {tuple(r[c] for c in STATUS_COLUMNS) for r in rows}


def check_current(pipe: LivePipeline, truth: LiveStatusTruth) -> list[dict[str, Any]]:
    current = pipe.table("agent_status_live")
    # Exactly the truth: same agents, names, start and end to the millisecond, nothing extra.
    assert len(current) == len(truth.statuses)
    assert table_rows(current) == as_rows(truth)
    for row in current:
        if row["status"] == "LoggedOut":
            assert row["start_time"] == row["end_time"] is not None  # start = end = lastLogout
            assert row["status_name"] == "LoggedOut"
        else:
            assert row["end_time"] is None
    return current


@pytest.mark.parametrize("case", sorted(CASES))
def test_live_status_matches_ground_truth_across_polls(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, case: str
) -> None:
    timezone, region, first, step = CASES[case]
    pipe = _pipeline(
        request, tmp_path, warehouse_uri, fresh_schema, name=f"live_{case}", timezone=timezone,
        region=region, clock=first,
    )  # fmt: skip
    truth_1 = pipe.sim.ground_truth().live_status(as_of=first)
    assert truth_1.skipped, "the simulator should have an agent that never logged in"
    assert any(s.status == "LoggedOut" for s in truth_1.statuses)
    assert sum(s.status != "LoggedOut" for s in truth_1.statuses) >= 3, "pick a clock with agents at work"

    pipe.poll_at(first)
    current_1 = check_current(pipe, truth_1)
    assert table_rows(pipe.table("agent_status_live_log")) == as_rows(truth_1)
    assert {r["observed_at"] for r in current_1} == {current_1[0]["observed_at"]}  # one poll
    (step_1,) = pipe.poll_steps()
    details = step_1["details"]
    assert (details["polls"], details["end_reason"]) == (1, loop.WINDOW_CLOSED)
    assert details["skipped"] == step_1["rows_rejected"] == len(truth_1.skipped)
    assert sorted(details["skipped_agents"]) == sorted(truth_1.skipped)
    assert details["changes"] == len(truth_1.statuses)
    assert step_1["api_requests"] == details["api_requests"] == 2  # the poller's token + one page

    # Later: the log gains exactly the changes between the two clocks; current rows follow.
    second = first + step
    pipe.sim.clock.set(second)
    truth_2 = pipe.sim.ground_truth().live_status(as_of=second)
    pipe.poll_at(second)
    current_2 = check_current(pipe, truth_2)
    changed = as_rows(truth_2) - as_rows(truth_1)
    assert changed, "no agent changed status between the two clocks; widen the step"
    log = pipe.table("agent_status_live_log")
    assert len(log) == len(truth_1.statuses) + len(changed)
    assert table_rows(log) == as_rows(truth_1) | as_rows(truth_2)
    step_2 = pipe.poll_steps()[-1]["details"]
    assert step_2["changes"] == step_2["log_rows"] == len(changed)
    # Unchanged agents keep the observed_at of the poll that first saw their status.
    first_seen = {r["agent_id"]: r["observed_at"] for r in current_1}
    changed_ids = {row[0] for row in changed}
    for row in current_2:
        if row["agent_id"] in changed_ids:
            assert row["observed_at"] > first_seen[row["agent_id"]]
        else:
            assert row["observed_at"] == first_seen[row["agent_id"]]

    # The same clock polled again changes nothing at all.
    if case == "los_angeles":
        before = (pipe.checksum("agent_status_live"), pipe.checksum("agent_status_live_log"))
        pipe.poll_at(second)
        assert (pipe.checksum("agent_status_live"), pipe.checksum("agent_status_live_log")) == before
        assert pipe.poll_steps()[-1]["details"]["changes"] == 0

    # Every /agents request asked for exactly the six live metrics, 1,000 a page; no token leaked.
    agents_requests = [r for r in pipe.sim.request_log() if r.path.endswith("/realtime-metrics/agents")]
    assert agents_requests
    assert all("size=1000" in r.query for r in agents_requests)
    for metric in DEFAULT_LIVE_METRICS:
        assert all(f"metrics={metric}" in r.query for r in agents_requests)
    recorded = json.dumps([r["details"] for r in pipe.poll_steps()], default=str)
    assert CLIENT_SECRET not in recorded
    assert not any(token in recorded for token in pipe.sim._tokens)
    steps = {r["step"] for r in pipe.query("SELECT step FROM {schema}.load_runs WHERE status = 'success'")}
    assert steps == {"authenticate", "poll_live_status"}


def test_live_dag_shape(tmp_path: Path) -> None:
    from acdflow.config import parse_config
    from acdflow.factory import build_dags

    document = {
        "warehouse": {"conn_id": "wh", "schema": "acd"},
        "integrations": [{"name": "acme", "conn_id": "eightbyeight_acme", "start_date": "2026-11-01",
                          "live_poll_seconds": 15}],
    }  # fmt: skip
    result = parse_config(document, path=tmp_path / "x.yaml")
    dag = build_dags(result)["acme__live_status"]
    assert dag.dag_id == "acme__live_status"
    assert (dag.catchup, dag.max_active_runs) == (False, 2)
    assert {"8x8", "acme", "live_status"} <= set(dag.tags)
    assert [t.task_id for t in dag.topological_sort()] == ["authenticate", "poll_live_status"]
    for task in dag.tasks:
        assert task.pool == "acdflow_8x8_acme_live"
        assert task.retries >= 2
    assert "(3600 / p) × ceil(A / 1000)" in dag.doc_md
    assert "248 requests/hour" in dag.doc_md
    # A data-interval timetable (a plain cron string would give runs without an interval); the
    # runs above check that each interval is exactly 15 minutes.
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    poll_task = dag.get_task("poll_live_status")
    assert poll_task.execution_timeout > loop.POLL_WINDOW + loop.handover_grace(15)


# --- the handover protocol: two pollers, a wall-clock simulator ------------------------------------


@dataclass
class Poller:
    run_id: str
    window: loop.PollWindow
    result: loop.LoopResult | None = None
    error: BaseException | None = None
    finished_at: datetime | None = None


def _wait_for_heartbeats(uri: str, schema: str, run_id: str, *, count: int, timeout_s: float) -> None:
    """Wait until ``run_id`` owns the live poll and its heartbeat has taken ``count`` values."""
    seen: set[datetime] = set()
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(uri, autocommit=True) as conn:
        while len(seen) < count:
            assert time.monotonic() < deadline, f"{run_id} committed only {len(seen)} polls"
            row = conn.execute(
                f'SELECT heartbeat_at FROM "{schema}".live_poll_owner WHERE run_id = %s', (run_id,)
            ).fetchone()
            if row is not None:
                seen.add(row[0])
            time.sleep(0.02)


def test_two_pollers_hand_over_without_gap_or_overlap(warehouse_uri: str, fresh_schema: str) -> None:
    poll_s = 0.2
    sim = simulator("Europe/Helsinki", "eu", agents=12)
    sim.clock.use_real_time()
    with sim.serve(host="127.0.0.1", port=0) as server, store.connect(warehouse_uri, fresh_schema):
        settings = EightByEightSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            region="eu",
            timezone="Europe/Helsinki",
            base_url=server.base_url,
            integration="handover",
        )

        def run(poller: Poller) -> None:
            try:
                with (
                    EightByEightClient(settings) as client,
                    store.connect(warehouse_uri, fresh_schema) as conn,
                ):
                    poller.result = loop.run_poll_loop(
                        client, conn, fresh_schema, integration="handover", run_id=poller.run_id,
                        window=poller.window, poll_seconds=poll_s, owner_check_seconds=0.05,
                    )  # fmt: skip
            except BaseException as exc:
                poller.error = exc
            finally:
                poller.finished_at = datetime.now(UTC)

        now = datetime.now(UTC)
        # The older run's window started a minute ago and would last another 30 s.
        old = Poller(
            "scheduled__old", loop.PollWindow(now - timedelta(minutes=1), now + timedelta(seconds=30))
        )
        old_thread = threading.Thread(target=run, args=(old,))
        old_thread.start()
        # A fixed sleep is not enough on a loaded machine (the first poll alone can take a second):
        # the newer run starts once the old one has claimed (one heartbeat) and committed three polls.
        _wait_for_heartbeats(warehouse_uri, fresh_schema, old.run_id, count=4, timeout_s=25)
        # The newer run's turn begins now (after the old one claimed) and lasts 1.5 s.
        now = datetime.now(UTC)
        new = Poller("scheduled__new", loop.PollWindow(now, now + timedelta(seconds=1.5)))
        new_thread = threading.Thread(target=run, args=(new,))
        new_thread.start()
        new_thread.join(timeout=30)
        old_thread.join(timeout=30)

        assert (old.error, new.error) == (None, None)
        assert old.result is not None
        assert new.result is not None
        assert (old.result.end_reason, old.result.ended_by) == (loop.HANDED_OVER, new.run_id)
        assert (new.result.end_reason, new.result.took_over_from) == (loop.WINDOW_CLOSED, old.run_id)
        old_polls, new_polls = old.result.polls, new.result.polls
        assert len(old_polls) >= 3
        assert len(new_polls) >= 3
        # No overlap: every poll of the old run was taken before the new run's first poll began.
        assert max(p.observed_at for p in old_polls) < min(p.started_at for p in new_polls)
        # No gap: consecutive polls, across the handover too, at most one interval (+ slack) apart.
        times = sorted(p.observed_at for p in old_polls + new_polls)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert max(gaps) <= poll_s + 0.5, gaps
        # The old run stopped promptly after the takeover, long before its own deadline.
        assert old.finished_at is not None
        assert old.finished_at - min(p.started_at for p in new_polls) < timedelta(seconds=poll_s + 0.5)
        # Both wrote the live table, and it matches the simulator now (real-time clock: compare ids).
        with psycopg.connect(warehouse_uri) as conn:
            count = conn.execute(f'SELECT count(*) FROM "{fresh_schema}".agent_status_live').fetchone()
        truth = sim.ground_truth().live_status()
        assert count == (len(truth.statuses),)
        with store.connect(warehouse_uri, fresh_schema) as conn:
            assert live.owner(conn, fresh_schema, integration="handover") is None  # released at the end
