"""The ground truth agrees with what the rendered API data says, read the way the product rules say.

The expectations here are derived from HTTP responses with an independent, test-local reading of the
product rules (docs/8x8-api-notes.md, “Product rules acdflow reproduces”), never from the
simulator's internals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from acdflow_dev.sim import SimConfig, Simulator

from .helpers import AGENT_STATUS, INTERACTIONS, NOW, Api, body, items, parse_ts

START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 08:00 PDT
END = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
CHANNEL = {"phone": "call", "voicemail": "call", "chat": "chat", "email": "email"}


@pytest.fixture(scope="module")
def interaction_rows(api_module: Api) -> list[dict[str, Any]]:
    # Wide enough on both sides: queueTime follows creation by up to a few minutes.
    report = api_module.create_id(
        body(INTERACTIONS, "2026-03-10T07:30:00.000Z", "2026-03-10T10:00:00.000Z", includeParticipants=True)
    )
    return [items(r) for r in api_module.all_rows(report)[0]]


@pytest.fixture(scope="module")
def api_module(server: Any) -> Api:
    return Api(server.base_url)


def _expected_interactions(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        queue = (row["queueName"] or "").strip()
        if not queue or row["direction"] not in ("InboundDir", "OutboundDir"):
            continue
        queue_time = parse_ts(row["queueTime"])
        if not START <= queue_time < END:
            continue
        handling: int | None = None
        for p in row["participants"]:
            if p["participantOfferAction"] != "Accepted":
                continue
            end = p["participantWrapUpEndTime"] or p["participantHandlingEndTime"]
            if end is None:
                continue
            value = (parse_ts(end) - parse_ts(p["participantOfferActionTime"])) // MS
            if value >= 0:
                handling = value if handling is None else handling + value
        out[row["interactionId"]] = {
            "queue_id": row["queueId"],
            "queue_name": queue,
            "channel": CHANNEL[row["mediaType"].lower()],
            "media_type": row["mediaType"],
            "direction": row["direction"],
            "queue_time": queue_time,
            "interval_start": queue_time.replace(
                minute=queue_time.minute // 15 * 15, second=0, microsecond=0
            ),
            "handled": "Handled" in (row["interactionLabels"] or []),
            "handling_ms": handling,
        }
    return out


def test_interactions_match_the_api(sim: Simulator, interaction_rows: list[dict[str, Any]]) -> None:
    expected = _expected_interactions(interaction_rows)
    truth = sim.ground_truth().interactions(START, END)
    assert len(expected) > 100
    assert {t.interaction_id for t in truth} == set(expected)
    for t in truth:
        e = expected[t.interaction_id]
        got = {k: getattr(t, k) for k in e}
        assert got == e, t.interaction_id
    assert any(t.handled for t in truth)
    assert any(not t.handled for t in truth)
    assert {t.channel for t in truth} == {"call", "chat", "email"}
    # Rows whose creation lies in the previous bucket but queue time in this one are included.
    assert any(t.queue_time - timedelta(minutes=1) < START for t in truth)


def test_interval_aht_matches_the_api(sim: Simulator, interaction_rows: list[dict[str, Any]]) -> None:
    groups: dict[tuple[datetime, str, str], list[int]] = defaultdict(list)
    for e in _expected_interactions(interaction_rows).values():
        if e["handled"] and e["handling_ms"] is not None:
            groups[(e["interval_start"], e["queue_name"], e["channel"])].append(e["handling_ms"])
    truth = sim.ground_truth().interval_aht(START, END)
    assert len(truth) == len(groups)
    for row in truth:
        values = groups[(row.interval_start, row.queue_name, row.channel)]
        assert row.handled_count == len(values)
        assert row.handling_ms_sum == sum(values)
        assert row.aht_ms == (Decimal(sum(values)) / len(values)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert row.aht_seconds == row.aht_ms / 1000
    assert len({r.interval_start for r in truth}) == 8


def test_ongoing_at_as_of_is_excluded(sim: Simulator) -> None:
    truth = sim.ground_truth()
    late_window = (NOW - timedelta(hours=1), NOW)
    now_rows = {t.interaction_id for t in truth.interactions(*late_window)}
    later = {t.interaction_id for t in truth.interactions(*late_window, as_of=NOW + timedelta(hours=4))}
    assert now_rows < later


def _status_name(status: str, code: str | None) -> str:
    if code and code.strip() and status.lower() != "loggedout":
        return f"{status} ({code})"
    return status


def test_agent_status_history_matches_the_api(sim: Simulator, api_module: Api) -> None:
    # Read from the window start to "now" so every status of the window has its successor.
    report = api_module.create_id(body(AGENT_STATUS, "2026-03-10T08:00:00.000Z", "2026-03-10T13:00:00.000Z"))
    rows = [items(r) for r in api_module.all_rows(report)[0]]
    unique = {(r["agentId"], parse_ts(r["time"]), r["status"]): r for r in rows}
    assert len(unique) < len(rows)  # duplicates were collapsed
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(unique.values(), key=lambda r: parse_ts(r["time"])):
        by_agent[row["agentId"]].append(row)
    expected = set()
    for agent_rows in by_agent.values():
        for index, row in enumerate(agent_rows):
            start = parse_ts(row["time"])
            if not START <= start < END:
                continue
            nxt = parse_ts(agent_rows[index + 1]["time"]) if index + 1 < len(agent_rows) else None
            expected.add(
                (row["agentId"], row["agent"], row["status"], row["statusCode"],
                 _status_name(row["status"], row["statusCode"]), start, nxt)
            )  # fmt: skip
    truth = sim.ground_truth().agent_status_history(START, END)
    got = {
        (t.agent_id, t.agent_name, t.status, t.status_code, t.status_name, t.start_time, t.end_time)
        for t in truth
    }
    assert got == expected
    assert any(t.status_name == "OnBreak (Lunch)" for t in truth) or any("(" in t.status_name for t in truth)
    assert all("(" not in t.status_name for t in truth if t.status == "LoggedOut")


def test_live_status_matches_the_api(sim: Simulator, api_module: Api) -> None:
    metrics = [
        "status.rt",
        "statusCode.rt",
        "timeOnStatus.rt",
        "lastLogin.rt",
        "lastLogout.rt",
        "loggedInTime.rt",
    ]
    response = api_module.get(f"{api_module.rt}/agents", params={"metrics": metrics, "size": 1000})
    expected: dict[str, tuple[Any, ...]] = {}
    skipped: set[str] = set()
    for agent in response.json():
        m = {x["key"]: x["value"] for x in agent["metrics"]}
        status, code = m["status.rt"], m["statusCode.rt"]
        if status == "LoggedOut":
            if m["lastLogout.rt"] is None:
                skipped.add(agent["id"])
                continue
            moment = parse_ts(m["lastLogout.rt"])
            expected[agent["id"]] = (status, code, "LoggedOut", moment, moment)
            continue
        if None in (m["lastLogin.rt"], m["loggedInTime.rt"], m["timeOnStatus.rt"]):
            skipped.add(agent["id"])
            continue
        start = parse_ts(m["lastLogin.rt"]) + m["loggedInTime.rt"] * MS - m["timeOnStatus.rt"] * MS
        expected[agent["id"]] = (status, code, _status_name(status, code), start, None)
    truth = sim.ground_truth().live_status()
    assert set(truth.skipped) == skipped
    assert len(skipped) == 1
    got = {
        s.agent_id: (s.status, s.status_code, s.status_name, s.start_time, s.end_time) for s in truth.statuses
    }
    assert got == expected
    assert {s.status for s in truth.statuses} >= {"Available", "LoggedOut"}


def test_live_status_agrees_with_historical_events(sim: Simulator) -> None:
    truth = sim.ground_truth()
    history = truth.agent_status_history(NOW - timedelta(days=2), NOW + timedelta(milliseconds=1))
    starts = {(h.agent_id, h.start_time) for h in history}
    live_map = {
        "LoggedIn": "Available",
        "Offered": "Offering",
        "Accepted": "Handling",
        "Initiated": "Handling",
    }
    for live in truth.live_status().statuses:
        assert (live.agent_id, live.start_time) in starts
        started = next(h for h in history if (h.agent_id, h.start_time) == (live.agent_id, live.start_time))
        assert live_map.get(started.status, started.status) == live.status


def test_ground_truth_is_cheap_for_a_few_hours() -> None:
    sim = Simulator(SimConfig.single(seed=8, now=NOW, scale=2000))
    truth = sim.ground_truth()
    truth.interval_aht(START, START + timedelta(hours=3))
    assert sim.tenant_state().interactions.buckets_generated <= 14
