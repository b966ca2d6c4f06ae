"""Historical status intervals (each status lasts until the agent's next one), as production builds
them: ``agent_status/load.sql`` and ``load.relink.sql`` run by ``publish_history`` over events
staged by ``stage_events``, against a real PostgreSQL, compared with an independent calculation."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from acdflow.transform.agent_status import live_statuses
from acdflow.warehouse import store
from tests.transform.transform_testlib import load, status_row, utc
from tests.transform.warehouse_testlib import (
    expected_history,
    import_status_rows,
    publish_statuses,
    status_change,
    stored_history,
)

T0 = utc(2026, 3, 10, 14, 0)
MARIA = "agQm3LxT0cRk2m1vYp8Zb9Aa"
SAM = "agT7wKp2Lm9Xc4Vb1Nq8Rs3D"
MINUTE = timedelta(minutes=1)


def test_example_status_changes_from_landing_to_intervals(warehouse_uri: str, fresh_schema: str) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        import_status_rows(conn, fresh_schema, load("agent_status_changes.json"), report_id=1)
        assert stored_history(conn, fresh_schema) == [
            (MARIA, "Available", utc(2025, 11, 18, 19, 47, 12, 300000), utc(2025, 11, 18, 20, 0, 3)),
            (MARIA, "OnBreak (Lunch)", utc(2025, 11, 18, 20, 0, 3), None),
            (SAM, "WorkingOffline (Training)", utc(2025, 11, 18, 19, 52, 40, 512000),
             utc(2025, 11, 18, 20, 29, 14, 750000)),
            (SAM, "Available", utc(2025, 11, 18, 20, 29, 14, 750000), None),
        ]  # fmt: skip
        # The example status changes and the example realtime answer describe the same agents at
        # 20:30 UTC, so the open statuses must agree.
        open_statuses = {
            a: (name, start) for a, name, start, end in stored_history(conn, fresh_schema) if end is None
        }
    live, _ = live_statuses(load("realtime_agents.json"), utc(2025, 11, 18, 20, 30))
    assert {
        s.agent_id: (s.status_name, s.start_time) for s in live if s.agent_id in open_statuses
    } == open_statuses


def test_statuses_chain_per_agent_whatever_the_event_order(warehouse_uri: str, fresh_schema: str) -> None:
    events = [
        status_change("a1", T0, "LoggedIn"),
        status_change("a1", T0 + timedelta(seconds=1), "OnBreak", "Lunch"),
        status_change("a1", T0 + 30 * MINUTE),
        status_change("a2", T0 + 5 * MINUTE),
        status_change("a1", T0 + 50 * MINUTE, "LoggedOut", "End of shift"),
    ]
    expected = [
        ("a1", "LoggedIn", T0, T0 + timedelta(seconds=1)),
        ("a1", "OnBreak (Lunch)", T0 + timedelta(seconds=1), T0 + 30 * MINUTE),
        ("a1", "Available", T0 + 30 * MINUTE, T0 + 50 * MINUTE),
        ("a1", "LoggedOut", T0 + 50 * MINUTE, None),
        ("a2", "Available", T0 + 5 * MINUTE, None),  # the agent's latest status stays open
    ]
    assert expected_history(events) == expected  # the oracle agrees
    rng = random.Random(1)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for run in range(5):
            integration = f"order{run}"
            publish_statuses(
                conn, fresh_schema, rng.sample(events, len(events)), report_id=1, integration=integration
            )
            assert stored_history(conn, fresh_schema, integration) == expected


def test_the_next_run_closes_the_open_status(warehouse_uri: str, fresh_schema: str) -> None:
    run1 = [status_change("a1", T0), status_change("a1", T0 + 10 * MINUTE, "OnBreak", "Lunch")]
    # Run 2 overlaps run 1 (the 14:10 event comes again) and adds 14:40.
    run2 = [status_change("a1", T0 + 10 * MINUTE, "OnBreak", "Lunch"), status_change("a1", T0 + 40 * MINUTE)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_statuses(conn, fresh_schema, run1, report_id=1)
        assert stored_history(conn, fresh_schema)[-1] == ("a1", "OnBreak (Lunch)", T0 + 10 * MINUTE, None)
        second = publish_statuses(conn, fresh_schema, run2, report_id=2)
        assert (second.staged, second.changed, second.relinked) == (2, 1, 1)
        assert stored_history(conn, fresh_schema) == [
            ("a1", "Available", T0, T0 + 10 * MINUTE),
            ("a1", "OnBreak (Lunch)", T0 + 10 * MINUTE, T0 + 40 * MINUTE),
            ("a1", "Available", T0 + 40 * MINUTE, None),
        ]
        # The same report again rewrites nothing.
        again = publish_statuses(conn, fresh_schema, run2, report_id=2)
        assert (again.changed, again.relinked) == (0, 0)


def test_reruns_and_backfills_in_any_order_converge(warehouse_uri: str, fresh_schema: str) -> None:
    """Three overlapping 30-minute windows covering one status log, published in every order (and
    the first one twice): the stored chain is always the whole log's chain."""
    log = [
        status_change("a1", T0 + 2 * MINUTE, "LoggedIn"),
        status_change("a2", T0 + 7 * MINUTE),
        status_change("a1", T0 + 12 * MINUTE, "OnBreak", "Lunch"),
        status_change("a1", T0 + 29 * MINUTE),
        status_change("a2", T0 + 31 * MINUTE, "WorkingOffline", "Training"),
        status_change("a3", T0 + 44 * MINUTE),
        status_change("a1", T0 + 46 * MINUTE, "LoggedOut", "End of shift"),
        status_change("a2", T0 + 58 * MINUTE),
        status_change("a1", T0 + 61 * MINUTE, "LoggedIn"),
    ]
    windows = [
        [e for e in log if T0 + start * MINUTE <= e.start_time < T0 + (start + 30) * MINUTE]
        for start in (0, 20, 40)
    ]
    windows.append(windows[0])
    expected = expected_history(log)
    assert [span for span in expected if span[3] is None] == [
        ("a1", "LoggedIn", T0 + 61 * MINUTE, None),
        ("a2", "Available", T0 + 58 * MINUTE, None),
        ("a3", "Available", T0 + 44 * MINUTE, None),
    ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for run, order in enumerate(itertools.permutations(range(len(windows)))):
            integration = f"order{run}"
            for report_id in order:
                publish_statuses(
                    conn, fresh_schema, windows[report_id], report_id=report_id, integration=integration
                )
            assert stored_history(conn, fresh_schema, integration) == expected, order


def test_a_backfilled_window_closes_at_the_next_stored_status(warehouse_uri: str, fresh_schema: str) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_statuses(
            conn, fresh_schema, [status_change("a1", T0 + 60 * MINUTE, "LoggedOut")], report_id=2
        )
        backfill = [status_change("a1", T0), status_change("a1", T0 + 20 * MINUTE, "OnBreak")]
        publish_statuses(conn, fresh_schema, backfill, report_id=1)
        assert stored_history(conn, fresh_schema) == [
            ("a1", "Available", T0, T0 + 20 * MINUTE),
            ("a1", "OnBreak", T0 + 20 * MINUTE, T0 + 60 * MINUTE),
            ("a1", "LoggedOut", T0 + 60 * MINUTE, None),
        ]


def test_same_instant_statuses_keep_one_whatever_the_row_order(warehouse_uri: str, fresh_schema: str) -> None:
    """8x8 gives no order for two status changes of one agent at the same millisecond: the import
    keeps one status per instant, chosen by content, so every page order stores the same chain."""
    rows = [
        status_row(time="2026-03-10T14:00:00.000Z", status="OnBreak", statusCode="Auto", agentId="a1"),
        status_row(time="2026-03-10T14:00:00.000Z", status="LoggedIn", statusCode=None, agentId="a1"),
        status_row(time="2026-03-10T14:01:00.000Z", status="Available", statusCode=None, agentId="a1"),
    ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for run, order in enumerate(itertools.permutations(rows)):
            import_status_rows(conn, fresh_schema, list(order), report_id=1, integration=f"order{run}")
            assert stored_history(conn, fresh_schema, f"order{run}") == [
                ("a1", "OnBreak (Auto)", T0, T0 + MINUTE),
                ("a1", "Available", T0 + MINUTE, None),
            ]
