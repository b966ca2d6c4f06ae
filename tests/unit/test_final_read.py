"""Which window a report run reads: the look-back while 8x8 may still change its data, its own
interval (plus a short overlap for interactions) once the data is final and the run is the
scheduler's or a backfill's. Expected windows are written out by hand from the rules in the
runbook ("Final data is read once")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.utils.types import DagRunType

from acdflow.config import IntegrationSpec
from acdflow.pipeline import agent_status, interactions
from acdflow.runtime import RunInfo, run_info

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def spec(**overrides: object) -> IntegrationSpec:
    return IntegrationSpec(name="acme", conn_id="eightbyeight_acme", start_date=NOW - 400 * H, **overrides)  # type: ignore[arg-type]


def run(interval_end: datetime, run_type: str) -> RunInfo:
    return RunInfo(
        "acme__interactions", "r", "trigger_report", 1, interval_end - 15 * M, interval_end, run_type
    )


# (interval end, run type, expected interactions window relative to the interval, final)
CASES = [
    # 48 h 15 min old: final for the scheduler's and backfill runs, never for a manual run.
    (NOW - 48 * H - 15 * M, "scheduled", (-30 * M, 0 * M), True),
    (NOW - 48 * H - 15 * M, "backfill", (-30 * M, 0 * M), True),
    (NOW - 48 * H - 15 * M, "manual", (-4 * H - 15 * M, 0 * M), False),
    (NOW - 48 * H - 15 * M, "asset_triggered", (-4 * H - 15 * M, 0 * M), False),
    # Exactly at the horizon: final.
    (NOW - 48 * H, "scheduled", (-30 * M, 0 * M), True),
    # A minute younger than the horizon: 8x8 may still change it.
    (NOW - 47 * H - 59 * M, "scheduled", (-4 * H - 15 * M, 0 * M), False),
    # On time.
    (NOW, "scheduled", (-4 * H - 15 * M, 0 * M), False),
]


@pytest.mark.parametrize(("end", "run_type", "window", "final"), CASES)
def test_interactions_windows(
    end: datetime, run_type: str, window: tuple[timedelta, timedelta], final: bool
) -> None:
    got = interactions.fetch_window(spec(), run(end, run_type), NOW)
    assert (got.start - end, got.end - end, got.final) == (*window, final)


def test_agent_status_reads_its_own_interval_once_final() -> None:
    old = NOW - 50 * H
    assert agent_status.fetch_window(spec(), run(old, "scheduled"), NOW) == (old - 15 * M, old, True)
    assert agent_status.fetch_window(spec(), run(old, "manual"), NOW) == (old - 45 * M, old, False)
    assert agent_status.fetch_window(spec(), run(NOW, "scheduled"), NOW) == (NOW - 45 * M, NOW, False)


def test_a_final_settle_run_reads_no_settle_look_back() -> None:
    # 02:00 UTC interval: the daily settle run, 48 h back while the data may change.
    end = datetime(2026, 12, 1, 2, 15, tzinfo=UTC)
    assert (
        interactions.fetch_window(spec(), run(end, "scheduled"), end + 10 * M).start == end - 15 * M - 48 * H
    )
    assert interactions.fetch_window(spec(), run(end, "scheduled"), end + 49 * H)[:2] == (end - 30 * M, end)


def test_the_horizon_follows_the_longest_window_a_run_re_reads() -> None:
    # Settle disabled: data older than the look-back is final.
    no_settle = spec(settle_lookback_hours=0)
    end = NOW - 4 * H - 1 * M
    assert interactions.fetch_window(no_settle, run(end, "scheduled"), NOW).final
    assert not interactions.fetch_window(no_settle, run(NOW - 3 * H, "scheduled"), NOW).final
    # A look-back longer than the settle look-back moves the horizon with it.
    long_lookback = spec(lookback_minutes=72 * 60)
    assert not interactions.fetch_window(long_lookback, run(NOW - 50 * H, "scheduled"), NOW).final
    # The overlap is never longer than the look-back, and 0 reads the interval alone.
    assert interactions.fetch_window(spec(final_overlap_minutes=0), run(NOW - 50 * H, "scheduled"), NOW)[
        :2
    ] == (
        NOW - 50 * H - 15 * M,
        NOW - 50 * H,
    )
    short = spec(lookback_minutes=5, final_overlap_minutes=15)
    assert (
        interactions.fetch_window(short, run(NOW - 50 * H, "scheduled"), NOW).start == NOW - 50 * H - 20 * M
    )


@pytest.mark.parametrize(
    ("dag_run", "expected"),
    [
        (SimpleNamespace(run_type=DagRunType.SCHEDULED), "scheduled"),
        (SimpleNamespace(run_type=DagRunType.BACKFILL_JOB), "backfill"),
        (SimpleNamespace(run_type="manual"), "manual"),
        (None, "manual"),
    ],
)
def test_the_run_type_comes_from_the_dag_run(dag_run: object, expected: str) -> None:
    context = {
        "ti": SimpleNamespace(dag_id="d", task_id="t", try_number=1),
        "run_id": "r",
        "data_interval_start": NOW - 15 * M,
        "data_interval_end": NOW,
        "dag_run": dag_run,
    }
    assert run_info(context).run_type == expected
