"""Agent status (the product's status-name and live-status rules): names, events and live snapshots.

The historical intervals are SQL only; ``test_status_history_sql`` tests them through the warehouse.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from acdflow.transform.agent_status import (
    LiveSkip,
    LiveStatus,
    live_status_from_agent,
    live_statuses,
    status_name,
    transform_status_events,
)
from tests.transform.transform_testlib import OMIT, agent, load, status_row, utc

SNAPSHOT = utc(2025, 11, 18, 20, 30)
MARIA = "agQm3LxT0cRk2m1vYp8Zb9Aa"
SAM = "agT7wKp2Lm9Xc4Vb1Nq8Rs3D"
PRIYA = "agP4nRt6Yz2Wq8Ls0Dk5Hj7F"


# ---- status name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "name"),
    [
        ("OnBreak", "Lunch", "OnBreak (Lunch)"),
        ("WorkingOffline", "Training", "WorkingOffline (Training)"),
        ("Available", None, "Available"),
        ("Available", "", "Available"),
        ("Available", "   ", "Available"),
        ("LoggedOut", "End of shift", "LoggedOut"),
        ("loggedOut", "End of shift", "loggedOut"),  # camelCase (casing undocumented), kept as received
        ("LOGGEDOUT", "x", "LOGGEDOUT"),
        ("onBreak", "Lunch", "onBreak (Lunch)"),
        ("Rejected", "Busy", "Rejected (Busy)"),  # 8x8 does not say which statuses carry a code: any may
        ("OnBreak", " Lunch ", "OnBreak ( Lunch )"),  # code used as given
        ("LoggedIn", None, "LoggedIn"),
    ],
)
def test_status_name(status: str, code: str | None, name: str) -> None:
    assert status_name(status, code) == name


# ---- events: the example status changes ---------------------------------------


def test_example_status_change_events() -> None:
    batch = transform_status_events(load("agent_status_changes.json"))
    assert batch.rejected == []
    assert batch.duplicates == 0
    assert [(e.agent_id, e.status, e.status_code, e.time) for e in batch.events] == [
        (SAM, "Available", None, utc(2025, 11, 18, 20, 29, 14, 750000)),
        (MARIA, "OnBreak", "Lunch", utc(2025, 11, 18, 20, 0, 3)),
        (SAM, "WorkingOffline", "Training", utc(2025, 11, 18, 19, 52, 40, 512000)),
        (MARIA, "Available", None, utc(2025, 11, 18, 19, 47, 12, 300000)),
    ]
    assert {e.observed_offset_minutes for e in batch.events} == {-480}
    assert batch.events[1].agent_name == "Maria Lopez"
    assert status_name(batch.events[1].status, batch.events[1].status_code) == "OnBreak (Lunch)"


def test_status_rows_item_order_irrelevant() -> None:
    rows = load("agent_status_changes.json")
    rng = random.Random(3)
    shuffled = [{"total": None, "items": rng.sample(r["items"], len(r["items"]))} for r in rows]
    assert transform_status_events(shuffled).events == transform_status_events(rows).events


# ---- events: duplicates and rejections ------------------------------------------------------


def test_duplicates_by_agent_time_and_status_case_insensitively() -> None:
    rows = [
        status_row(),
        status_row(status="ONBREAK"),  # same key, other casing → duplicate
        status_row(statusCode="Other"),  # same key (code not part of it) → duplicate, first kept
        status_row(status="Available", statusCode=None),  # same instant, other status → event
        status_row(time="2025-11-18T20:00:03.000Z"),  # same instant, other offset → duplicate
        status_row(agentId="agOther"),  # other agent → event
    ]
    batch = transform_status_events(rows)
    assert batch.duplicates == 3
    assert [(e.agent_id, e.status, e.status_code) for e in batch.events] == [
        (MARIA, "OnBreak", "Lunch"),
        (MARIA, "Available", None),
        ("agOther", "OnBreak", "Lunch"),
    ]
    assert len(batch.events) + len(batch.rejected) + batch.duplicates == len(rows)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"agentId": OMIT}, "missing key agentId"),
        ({"agentId": None}, "agentId is null"),
        ({"agentId": ""}, "agentId is blank"),
        ({"agentId": 17}, "agentId is not a string (got int)"),
        ({"time": OMIT}, "missing key time"),
        ({"time": "2025-11-18T12:00:03.000"}, "time has no UTC offset ('2025-11-18T12:00:03.000')"),
        ({"time": "noon"}, "unparseable time 'noon'"),
        ({"status": OMIT}, "missing key status"),
        ({"status": None}, "status is null"),
        ({"status": " "}, "status is blank"),
        ({"statusCode": ["Lunch"]}, "statusCode is not a string (got array)"),
        ({"agent": {"name": "x"}}, "agent is not a string (got object)"),
    ],
)
def test_status_rejections(overrides: dict[str, Any], reason: str) -> None:
    bad = status_row(**overrides)
    good = status_row(agentId="agGood")
    batch = transform_status_events([good, bad])
    assert [e.agent_id for e in batch.events] == ["agGood"]
    assert [(r.raw, r.reason) for r in batch.rejected] == [(bad, reason)]


def test_status_rejection_context() -> None:
    bad = status_row(status=None)
    batch = transform_status_events([bad, None, {"items": "x"}])
    assert batch.rejected[0].agent_id == MARIA
    assert batch.rejected[0].record_time == utc(2025, 11, 18, 20, 0, 3)
    assert batch.rejected[0].interaction_id is None
    assert [r.reason for r in batch.rejected[1:]] == [
        "row is not an object (got null)",
        "items is not a list (got str)",
    ]


def test_optional_fields_may_be_absent() -> None:
    (event,) = transform_status_events([status_row(agent=OMIT, statusCode=OMIT)]).events
    assert event.agent_name is None
    assert event.status_code is None
    assert status_name(event.status, event.status_code) == "OnBreak"


# ---- live: the example realtime answer ------------------------------------------------------


def test_example_live_mapping() -> None:
    statuses, skipped = live_statuses(load("realtime_agents.json"), SNAPSHOT)
    assert skipped == []
    assert statuses == [
        LiveStatus(
            agent_id=PRIYA,
            agent_name="Priya Natarajan",
            status="LoggedOut",
            status_code="End of shift",
            status_name="LoggedOut",  # code dropped for LoggedOut
            start_time=utc(2025, 11, 17, 23, 5, 42, 500000),
            end_time=utc(2025, 11, 17, 23, 5, 42, 500000),
            observed_at=SNAPSHOT,
        ),
        LiveStatus(
            agent_id=MARIA,
            agent_name="Maria Lopez",
            status="OnBreak",
            status_code="Lunch",
            status_name="OnBreak (Lunch)",
            # lastLogin + loggedInTime − timeOnStatus: 16:58:02.114 + 3:31:57.886 − 0:29:57.000
            start_time=utc(2025, 11, 18, 20, 0, 3),
            end_time=None,
            observed_at=SNAPSHOT,
        ),
        LiveStatus(
            agent_id=SAM,
            agent_name="Sam Okafor",
            status="Available",
            status_code=None,
            status_name="Available",
            start_time=utc(2025, 11, 18, 20, 29, 14, 750000),
            end_time=None,
            observed_at=SNAPSHOT,
        ),
    ]


LIVE_OK: dict[str, Any] = {
    "lastLogin.rt": "2025-11-18T16:58:02.114Z",
    "lastLogout.rt": None,
    "loggedInTime.rt": 12717886,
    "status.rt": "OnBreak",
    "statusCode.rt": "Lunch",
    "timeOnStatus.rt": 1797000,
}
START = utc(2025, 11, 18, 20, 0, 3)


def live(**metric_overrides: Any) -> LiveStatus | LiveSkip:
    return live_status_from_agent(agent({**LIVE_OK, **metric_overrides}), SNAPSHOT)


def test_live_metric_order_and_number_forms() -> None:
    a = agent(LIVE_OK)
    a["metrics"].reverse()
    result = live_status_from_agent(a, SNAPSHOT)
    assert isinstance(result, LiveStatus)
    assert result.start_time == START
    for forms in ({"loggedInTime.rt": 12717886.0}, {"timeOnStatus.rt": "1797000"}):
        result = live(**forms)
        assert isinstance(result, LiveStatus)
        assert result.start_time == START


def test_live_logged_out_variants() -> None:
    result = live(**{"status.rt": "LOGGEDOUT", "lastLogout.rt": "2025-11-18T01:00:00.000Z",
                     "lastLogin.rt": None, "timeOnStatus.rt": None})  # fmt: skip
    assert isinstance(result, LiveStatus)
    assert result.start_time == result.end_time == utc(2025, 11, 18, 1)
    assert result.status_name == "LOGGEDOUT"
    assert live(**{"status.rt": "LoggedOut"}) == LiveSkip("agX", "lastLogout.rt is missing or null")


def test_live_without_status_code_and_name() -> None:
    result = live_status_from_agent(agent({**LIVE_OK, "statusCode.rt": OMIT}, name=None), SNAPSHOT)
    assert isinstance(result, LiveStatus)
    assert (result.status_name, result.agent_name) == ("OnBreak", None)


def test_live_observed_at_is_normalised_and_must_be_aware() -> None:
    result = live_status_from_agent(agent(LIVE_OK), SNAPSHOT.astimezone(timezone(timedelta(hours=-8))))
    assert isinstance(result, LiveStatus)
    assert result.observed_at == SNAPSHOT
    assert result.observed_at.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        live_status_from_agent(agent(LIVE_OK), datetime(2025, 11, 18, 20, 30))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"lastLogin.rt": None}, "lastLogin.rt is missing or null"),
        ({"lastLogin.rt": OMIT}, "lastLogin.rt is missing or null"),
        ({"loggedInTime.rt": None}, "loggedInTime.rt is missing or null"),
        ({"timeOnStatus.rt": None}, "timeOnStatus.rt is missing or null"),
        ({"timeOnStatus.rt": 1.5}, "timeOnStatus.rt is not a whole number of milliseconds (1.5)"),
        ({"timeOnStatus.rt": True}, "timeOnStatus.rt is not a whole number of milliseconds (True)"),
        ({"timeOnStatus.rt": -1}, "timeOnStatus.rt is negative (-1)"),
        (
            {"lastLogin.rt": "2025-11-18T16:58:02.114"},
            "lastLogin.rt has no UTC offset ('2025-11-18T16:58:02.114')",
        ),
        ({"lastLogin.rt": "yesterday"}, "unparseable lastLogin.rt 'yesterday'"),
        ({"status.rt": None}, "status.rt is missing or not a non-empty string (None)"),
        ({"status.rt": ""}, "status.rt is missing or not a non-empty string ('')"),
        ({"statusCode.rt": 5}, "statusCode.rt is not a string (got int)"),
    ],
)
def test_live_skips(overrides: dict[str, Any], reason: str) -> None:
    assert live(**overrides) == LiveSkip("agX", reason)


@pytest.mark.parametrize(
    ("element", "skip"),
    [
        ({"id": None, "name": "totals", "metrics": []}, LiveSkip(None, "totals element or agent without id")),
        ({"name": "x", "metrics": []}, LiveSkip(None, "totals element or agent without id")),
        ({"id": 5, "metrics": []}, LiveSkip(None, "agent id is not a non-empty string (5)")),
        ({"id": "agX", "metrics": None}, LiveSkip("agX", "metrics is not a list (got null)")),
        ({"id": "agX"}, LiveSkip("agX", "metrics is not a list (got null)")),
        (
            {"id": "agX", "metrics": [{"key": "status.rt"}]},
            LiveSkip("agX", "metrics[0] (status.rt) has no 'value'"),
        ),
        ({"id": "agX", "name": 3, "metrics": []}, LiveSkip("agX", "name is not a string (got int)")),
        ("agX", LiveSkip(None, "agent element is not an object (got str)")),
    ],
)
def test_live_skips_malformed_elements(element: Any, skip: LiveSkip) -> None:
    assert live_status_from_agent(element, SNAPSHOT) == skip


def test_live_statuses_splits_results() -> None:
    page = [agent(LIVE_OK, id="a"), {"id": None, "name": "totals", "metrics": []}, agent(LIVE_OK, id="b")]
    statuses, skipped = live_statuses(page, SNAPSHOT)
    assert [s.agent_id for s in statuses] == ["a", "b"]
    assert [s.agent_id for s in skipped] == [None]
