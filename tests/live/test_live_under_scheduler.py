"""The live poll under a real Airflow: scheduler, DAG processor, triggerer and API server with the
LocalExecutor, the simulator on the wall clock and a real PostgreSQL.

While the poll task's window is open its task instance is ``deferred`` (no worker process, no
pool slot) and statuses keep arriving: the owner row's heartbeat advances at every poll and
``agent_status_live`` holds the simulator's agents. The triggerer is then killed and started
again: the trigger is re-created from the metadata database and the same run polls on.

Opt-in (``make test-e2e``): it takes a few minutes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acdflow_dev.local.runner import LocalAirflow, ensure_database
from tests.e2e.harness import start_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

POLL_S = 15  # the shortest poll interval an integration may set


def wait_until(condition: Callable[[], bool], timeout: float, what: str, airflow: LocalAirflow) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{airflow.log_tail('triggerer')}")
        time.sleep(1)


def test_the_live_poll_is_deferred_while_it_polls_and_survives_a_triggerer_restart(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    pipe = start_pipeline(
        request, tmp_path, warehouse_uri, fresh_schema, name="livesched", timezone="Europe/Berlin",
        region="eu", start_date=today.isoformat(), live_poll_seconds=POLL_S,
    )  # fmt: skip
    pipe.sim.clock.use_real_time()
    dag_id = f"{pipe.name}__live_status"
    airflow = LocalAirflow(
        home=tmp_path / "airflow",
        metadata_conninfo=ensure_database(warehouse_uri, f"airflow_{fresh_schema}"),
        extra_env={
            **pipe.env(),
            # Only the live DAG runs; the report DAGs would catch the day up meanwhile.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # A dead triggerer's triggers move to a live one after this many seconds (default 30).
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
        },
    )
    request.addfinalizer(airflow.stop)
    airflow.migrate()
    spec, _ = pipe.spec()
    airflow.import_pools(spec.pools())
    airflow.start()
    airflow.set_paused([dag_id], paused=False)

    def poll_tasks() -> list[tuple[str, str]]:
        rows = airflow.query(
            "SELECT run_id, state FROM task_instance WHERE dag_id = %s AND task_id = 'poll_live_status'",
            dag_id,
        )
        return [(str(run_id), str(state)) for run_id, state in rows]

    def owner() -> tuple[str, datetime] | None:
        rows = pipe.query(
            "SELECT run_id, heartbeat_at FROM {schema}.live_poll_owner WHERE integration = %s", pipe.name
        )
        return (rows[0]["run_id"], rows[0]["heartbeat_at"]) if rows else None

    def states_of_owner() -> tuple[str | None, str | None]:
        held = owner()
        if held is None:
            return None, None
        return held[0], dict(poll_tasks()).get(held[0])

    def watch(polls: int, timeout: float) -> list[tuple[str, datetime, str | None]]:
        """Sample until ``polls`` new heartbeats were seen; every sample notes the owner's task state."""
        seen: list[tuple[str, datetime, str | None]] = []
        deadline = time.monotonic() + timeout
        while len({beat for _, beat, _ in seen}) <= polls:
            assert time.monotonic() < deadline, (
                f"{len(seen)} samples: {seen[-3:]}\n{airflow.log_tail('triggerer')}"
            )
            held = owner()
            if held is not None:
                seen.append((held[0], held[1], dict(poll_tasks()).get(held[0])))
            time.sleep(1)
        return seen

    wait_until(
        lambda: "deferred" in {state for _, state in poll_tasks()}, 600, "a deferred poll task", airflow
    )
    wait_until(lambda: owner() is not None, 120, "the first poll", airflow)

    # While the poll goes on, its task is deferred: heartbeats advance, nothing runs on a worker.
    before = watch(polls=2, timeout=4 * POLL_S + 60)
    assert {state for _, _, state in before} == {"deferred"}, before
    truth = pipe.sim.ground_truth().live_status()
    stored = pipe.query("SELECT agent_id FROM {schema}.agent_status_live WHERE integration = %s", pipe.name)
    assert stored, "no live status was stored"
    assert {r["agent_id"] for r in stored} == {s.agent_id for s in truth.statuses}

    # The triggerer dies without a chance to clean up, and comes back.
    run_before, last_beat, _ = before[-1]
    triggerer = airflow._procs["triggerer"]  # the runner has no API to stop one component
    os.killpg(triggerer.pid, signal.SIGKILL)
    triggerer.wait(30)
    del airflow._procs["triggerer"]
    killed_at = datetime.now(UTC)
    airflow.start(["triggerer"])

    after = watch(polls=2, timeout=300)
    resumed = [(run_id, beat, state) for run_id, beat, state in after if beat > last_beat]
    assert resumed, after
    # The same run polls on (unless the next interval's run has taken over meanwhile, as it does
    # every 15 minutes), its task still deferred, never running on a worker.
    assert {run_id for run_id, _, _ in resumed} <= {
        run_before,
        *(r for r, _ in poll_tasks() if r > run_before),
    }
    assert {state for _, _, state in resumed} == {"deferred"}, resumed
    first_after = min(beat for _, beat, _ in resumed)
    # The gap is the restart: the trigger moved after the 10 s health threshold and polled at once.
    assert first_after - last_beat < timedelta(minutes=3), (last_beat, killed_at, first_after)
    failed = [state for _, state in poll_tasks() if state in ("failed", "up_for_retry")]
    assert failed == []
