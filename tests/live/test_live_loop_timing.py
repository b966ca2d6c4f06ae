"""The poll loop's timing on the warehouse's clock: a fixed pace kept by the poller's monotonic
clock, windows judged by the warehouse's, waiting for and deferring to other runs. A scripted 8x8
over real HTTP and a real PostgreSQL, in real (short) time, with the trigger's asynchronous I/O and
with the synchronous tools' (one protocol, two drivers)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from acdflow.eightbyeight.settings import EightByEightSettings
from acdflow.pipeline import live_status as loop
from acdflow.warehouse import live, store
from tests.badinput.catalogue import VALID_AGENT_A, VALID_AGENT_B
from tests.badinput.harness import make_client
from tests.client.scripted_server import AGENTS_PATH, Answer, Script, serve
from tests.live import livekit

INTEGRATION = "acme"
POLL_S = 0.2


@pytest.fixture
def script() -> Iterator[tuple[Script, str]]:
    script = Script()
    script.add(AGENTS_PATH, Answer(body=[VALID_AGENT_A, VALID_AGENT_B], headers={"X-Total-Pages": "1"}))
    with serve(script) as base_url:
        yield script, base_url


@pytest.fixture(params=livekit.DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings(base_url: str) -> EightByEightSettings:
    return make_client(base_url, INTEGRATION).settings


def db_now(uri: str) -> datetime:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_polls_at_a_fixed_pace_until_the_deadline_whatever_the_worker_clock_says(
    script: tuple[Script, str], warehouse_uri: str, fresh_schema: str, driver: str
) -> None:
    _served, base_url = script
    now = db_now(warehouse_uri)
    window = loop.PollWindow(now, now + timedelta(seconds=1.5))

    # A worker clock an hour behind: by it the window would not close for an hour.
    def slow_clock() -> datetime:
        return datetime.now(UTC) - timedelta(hours=1)

    started = time.monotonic()
    result = livekit.run_loop(
        driver, settings(base_url), warehouse_uri, fresh_schema, integration=INTEGRATION, run_id="r",
        window=window, poll_seconds=POLL_S, clock=slow_clock, owner_check_seconds=0.05,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    with store.connect(warehouse_uri, fresh_schema) as conn:
        assert live.owner(conn, fresh_schema, integration=INTEGRATION) is None  # released
    assert result.end_reason == loop.WINDOW_CLOSED
    assert 1.2 < elapsed < 3.0
    # Polls start a fixed interval apart (fixed rate: the poll's own latency is not added).
    starts = [p.started_at for p in result.polls]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert 6 <= len(result.polls) <= 8
    assert all(POLL_S - 0.02 < g < POLL_S + 0.15 for g in gaps), gaps
    assert starts[-1] < window.deadline <= starts[-1] + timedelta(seconds=POLL_S + 0.05)
    assert result.worker_clock_skew_s is not None
    assert -3610 < result.worker_clock_skew_s < -3590


def test_an_old_interval_does_not_poll_while_a_live_run_holds_the_poll(
    script: tuple[Script, str], warehouse_uri: str, fresh_schema: str, driver: str
) -> None:
    served, base_url = script
    now = db_now(warehouse_uri)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        held = live.claim(
            conn, fresh_schema, integration=INTEGRATION, run_id="live", window_start=now,
            stale_after=loop.stale_after(30),
        )  # fmt: skip
        assert held.owned
        assert held.at is not None
        result = livekit.run_loop(
            driver, settings(base_url), warehouse_uri, fresh_schema, integration=INTEGRATION,
            run_id="backfill", window=loop.polling_window(now - timedelta(days=3), 30), poll_seconds=30,
        )  # fmt: skip
        assert (result.polls, result.end_reason, result.ended_by) == ([], loop.NOT_OWNER, "live")
        assert live.owner(conn, fresh_schema, integration=INTEGRATION) == "live"
    assert served.calls(AGENTS_PATH) == 0


def test_a_run_waits_for_a_late_previous_run_then_polls(
    script: tuple[Script, str], warehouse_uri: str, fresh_schema: str, driver: str
) -> None:
    _served, base_url = script
    now = db_now(warehouse_uri)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        # The previous run started so late that it claimed after this run's window had begun.
        assert live.claim(
            conn, fresh_schema, integration=INTEGRATION, run_id="previous",
            window_start=now - timedelta(minutes=15), stale_after=loop.stale_after(30),
        ).owned  # fmt: skip
    released: list[datetime] = []

    def release_later() -> None:
        time.sleep(0.5)
        with store.connect(warehouse_uri, fresh_schema) as conn:
            assert live.release(conn, fresh_schema, integration=INTEGRATION, run_id="previous")
        released.append(db_now(warehouse_uri))

    releaser = threading.Thread(target=release_later)
    releaser.start()
    window = loop.PollWindow(now - timedelta(seconds=1), now + timedelta(seconds=1.5))
    result = livekit.run_loop(
        driver, settings(base_url), warehouse_uri, fresh_schema, integration=INTEGRATION, run_id="next",
        window=window, poll_seconds=POLL_S, owner_check_seconds=0.05,
    )  # fmt: skip
    releaser.join(timeout=10)
    (released_at,) = released
    assert (result.end_reason, result.ended_by, result.took_over_from) == (loop.WINDOW_CLOSED, None, None)
    # Refused while the previous run held the poll; polled within one interval of its release.
    first = result.polls[0].observed_at
    assert released_at - timedelta(seconds=0.1) < first < released_at + timedelta(seconds=POLL_S + 0.2)
    assert len(result.polls) >= 3
