"""The generated world: determinism, laziness at scale, and the invariants of interaction data
(creation ≤ queue ≤ offer ≤ offer action ≤ handling end ≤ wrap-up end, labels consistent with
participants)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.clock import to_ms
from acdflow_dev.sim.interactions import BUCKET_MS, Interaction

DAY_START = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 00:00 PDT on Monday 2026-03-09


def _day(sim: Simulator, start: datetime = DAY_START, hours: int = 24) -> list[Interaction]:
    tenant = sim.tenant_state()
    return tenant.interactions.created_between(to_ms(start), to_ms(start + timedelta(hours=hours)) - 1)


@pytest.fixture(scope="module")
def day() -> list[Interaction]:
    return _day(Simulator(SimConfig.single(seed=11, scale=4000)))


def test_same_seed_same_data_and_different_seed_different_data() -> None:
    one = _day(Simulator(SimConfig.single(seed=5)), hours=2)
    two = _day(Simulator(SimConfig.single(seed=5)), hours=2)
    other = _day(Simulator(SimConfig.single(seed=6)), hours=2)
    assert one
    assert one == two
    assert {i.interaction_id for i in one}.isdisjoint({i.interaction_id for i in other})


def test_bucket_is_stable_whatever_was_asked_before() -> None:
    a = Simulator(SimConfig.single(seed=5))
    b = Simulator(SimConfig.single(seed=5))
    index = to_ms(DAY_START) // BUCKET_MS + 40
    _day(b, hours=12)  # warm b's cache with other buckets first
    assert a.tenant_state().interactions.bucket(index) == b.tenant_state().interactions.bucket(index)


def test_one_window_at_100k_per_day_generates_only_its_buckets() -> None:
    sim = Simulator(SimConfig.single(seed=3, scale=100_000))
    generator = sim.tenant_state().interactions
    start = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    rows = generator.created_between(to_ms(start), to_ms(start + timedelta(minutes=15)) - 1)
    assert generator.buckets_generated == 1
    assert generator.interactions_generated == len(rows)
    assert 300 < len(rows) < 4000  # 100,000/day at 10:00 local is well above the daily mean per bucket
    generator.created_between(to_ms(start), to_ms(start + timedelta(minutes=15)) - 1)
    assert generator.buckets_generated == 1  # cached


def test_every_bucket_has_importable_interactions_at_scale_500() -> None:
    sim = Simulator(SimConfig.single(seed=2, scale=500))
    generator = sim.tenant_state().interactions
    first = to_ms(DAY_START) // BUCKET_MS
    for index in range(first, first + 96):
        importable = [i for i in generator.bucket(index) if i.importable_shape]
        assert len(importable) >= 2, index


def test_diurnal_volume_and_scale(day: list[Interaction]) -> None:
    assert 3000 < len(day) < 5000
    by_hour = Counter((i.time_ms - to_ms(DAY_START)) // 3_600_000 for i in day)
    assert by_hour[10] > 5 * by_hour[3]


def test_variety_of_kinds(day: list[Interaction]) -> None:
    media = Counter(i.media for i in day)
    assert set(media) == {"Phone", "Chat", "Email", "VoiceMail"}
    directions = Counter(i.direction for i in day)
    assert {"InboundDir", "OutboundDir", "InternalDir"} <= set(directions)
    assert any(i.queue is None for i in day)
    assert any(i.queue is not None and i.direction == "InternalDir" for i in day)
    assert any(i.interaction_type == "InternalCall" for i in day)
    assert any(i.abandon_ms is not None and not i.participants for i in day)
    assert any(i.abandon_ms is not None and i.participants for i in day)
    actions = Counter(p.action for i in day for p in i.participants)
    assert {"Accepted", "OfferTimeout", "Rejected", "Abandoned"} <= set(actions)
    assert any(sum(p.accepted for p in i.participants) >= 2 for i in day)
    assert any(
        p.accepted and p.wrap_end_ms is None and p.handling_end_ms is not None
        for i in day
        for p in i.participants
    )
    crossing = [
        i
        for i in day
        if i.queue_time_ms is not None and i.queue_time_ms // BUCKET_MS != i.time_ms // BUCKET_MS
    ]
    assert len(crossing) > 20


def test_late_finishers(day: list[Interaction]) -> None:
    durations = [i.finished_ms - i.time_ms for i in day]
    late = [d for d in durations if d >= 20 * 60_000]
    share = len(late) / len(durations)
    assert 0.03 <= share <= 0.055, share
    assert max(durations) <= 180 * 60_000
    assert max(durations) > 60 * 60_000


def test_interaction_invariants(day: list[Interaction]) -> None:
    for ix in day:
        assert ix.time_ms <= ix.finished_ms
        assert f"-{ix.media.lower()}-" in ix.interaction_id
        labels = [label for label, _ in ix.labels]
        assert [at for _, at in ix.labels] == sorted(at for _, at in ix.labels)
        assert ("Handled" in labels) == any(p.accepted for p in ix.participants)
        if ix.queue is None:
            assert ix.queue_time_ms is None
            assert "Queued" not in labels
        else:
            assert ix.queue_time_ms is not None
            assert ix.time_ms <= ix.queue_time_ms
            assert "Queued" in labels
        previous_end = ix.time_ms
        for p in ix.participants:
            chain = [
                ix.queue_time_ms or ix.time_ms,
                p.offer_ms,
                p.action_ms,
                p.handling_end_ms,
                p.wrap_end_ms,
            ]
            present = [x for x in chain if x is not None]
            assert present == sorted(present), (ix.interaction_id, chain)
            assert p.offer_ms >= previous_end or p.offer_ms >= ix.time_ms
            assert p.end_ms <= ix.finished_ms
            if p.accepted:
                assert p.handling_end_ms is not None
            else:
                assert p.handling_end_ms is None
                assert p.wrap_end_ms is None
            previous_end = p.action_ms
        for value in (ix.time_ms, ix.finished_ms):
            assert isinstance(value, int)


def test_status_events_shape() -> None:
    sim = Simulator(SimConfig.single(seed=4, now=datetime(2026, 3, 12, tzinfo=UTC)))
    log = sim.tenant_state().status_log
    events = log.events_between(to_ms(DAY_START), to_ms(DAY_START + timedelta(days=1)) - 1)
    statuses = Counter(e.status for e in events)
    for status in ("LoggedIn", "LoggedOut", "Available", "OnBreak", "WorkingOffline", "Offered", "Accepted",
                   "Handling", "WrapUp", "Rejected", "Timeout"):  # fmt: skip
        assert statuses[status] > 0, status
    codes = {(e.status, e.code.name) for e in events if e.code}
    assert {("OnBreak", "Lunch"), ("OnBreak", "Short Break"), ("LoggedOut", "End of shift")} <= codes
    assert {("WorkingOffline", "Training"), ("WorkingOffline", "Attend Meeting")} & codes
    assert all(e.status in ("OnBreak", "WorkingOffline", "LoggedOut") for e in events if e.code)
    duplicates = [e for e in events if e.duplicate]
    assert duplicates
    keys = Counter((e.agent.agent_id, e.time_ms, e.status) for e in events)
    assert sum(1 for n in keys.values() if n > 1) == len(duplicates)
    by_agent: dict[str, list[int]] = {}
    for e in events:
        if not e.duplicate:
            by_agent.setdefault(e.agent.agent_id, []).append(e.time_ms)
    for times in by_agent.values():
        assert times == sorted(times)
        assert len(set(times)) == len(times)
    logins = [e for e in events if e.status == "LoggedIn"]
    auto_breaks = 0
    for login in logins:
        following = [e for e in events if e.agent is login.agent and e.time_ms > login.time_ms]
        if following and following[0].status == "OnBreak" and following[0].time_ms - login.time_ms < 1000:
            auto_breaks += 1
    assert auto_breaks > len(logins) / 3


def test_someone_is_logged_in_at_every_hour() -> None:
    sim = Simulator(SimConfig.single(seed=4))
    log = sim.tenant_state().status_log
    for hour in range(0, 48):
        at = to_ms(DAY_START + timedelta(hours=hour, minutes=7))
        states = [log.live_state(agent, at) for agent in sim.tenant_state().world.agents]
        assert any(s is not None and s.logged_in for s in states), hour
