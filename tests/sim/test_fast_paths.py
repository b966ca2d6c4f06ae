"""The simulator's fast paths equal the straightforward code they replace.

* the random helpers draw exactly what ``random.Random``'s methods draw (the generated world of a
  seed must not change);
* agent-status days that cannot reach a window are skipped: the events of a window are the same as
  when every day is generated, across DST changes;
* rows written directly as JSON equal ``json.dumps`` of ``render_row`` for every option, instant
  and field set (malformed rows keep the reference path);
* concurrent reports over one window generate each bucket and agent-day once.
"""

from __future__ import annotations

import json
import math
import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.agentstatus import StatusEvent
from acdflow_dev.sim.catalog import FIELDS_BY_TYPE
from acdflow_dev.sim.clock import to_ms
from acdflow_dev.sim.config import TenantConfig
from acdflow_dev.sim.interactions import Interaction
from acdflow_dev.sim.render import (
    RenderOptions,
    RowEncoder,
    agent_status_values,
    interaction_values,
    render_row,
)
from acdflow_dev.sim.rng import URL_SAFE, below, bounded_exp, randint, randints, token
from acdflow_dev.sim.timefmt import local_date, zone
from acdflow_dev.sim.world import Agent

from .helpers import AGENT_STATUS, INTERACTIONS

HOUR = 3_600_000


def test_random_helpers_draw_what_random_draws() -> None:
    for seed in range(400):
        fast, reference = random.Random(seed), random.Random(seed)
        for length in (1, 2, 20, 25):
            assert token(fast, length) == "".join(reference.choice(URL_SAFE) for _ in range(length))
        for n in (1, 2, 3, 64, 1000, 900_000, 2**31 + 5):
            assert below(fast, n) == reference.randrange(n)
        for a, b in ((1, 6), (-10, 10), (19_500, 20_500), (10_000, 99_999_998)):
            assert randint(fast, a, b) == reference.randint(a, b)
        assert randints(fast, 300, 15_000, 4) == [reference.randint(300, 15_000) for _ in range(4)]
        expected = min(120_000, max(2_000, reference.expovariate(1.0 / 35_000)))
        assert bounded_exp(fast, 35_000, 2_000, 120_000) == expected
        # Both streams are at the same place afterwards.
        assert fast.getstate() == reference.getstate()
    assert math.isfinite(bounded_exp(random.Random(1), 1.0, 0.0, 10.0))


def _all_days_events(sim: Simulator, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Events of the window with every agent-day of the range generated (the unpruned reference)."""
    tenant = sim.tenant_state()
    tz = tenant.world.tz
    found = []
    for agent in tenant.world.agents:
        day = local_date(start_ms, tz) - timedelta(days=1)
        while day <= local_date(end_ms, tz):
            for event in tenant.status_log.day_events(agent, day):
                if start_ms <= event.time_ms <= end_ms:
                    found.append((event.time_ms, event.seq))
            day += timedelta(days=1)
    return sorted(found)


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("America/Los_Angeles", date(2026, 3, 8)),
        ("America/Chicago", date(2026, 11, 1)),
        ("Europe/Berlin", date(2026, 3, 29)),
        ("Australia/Sydney", date(2026, 4, 5)),
        ("Australia/Sydney", date(2026, 10, 4)),
    ],
)
def test_skipped_agent_days_change_no_window(name: str, day: date) -> None:
    config = SimConfig(tenants=(TenantConfig("t01", "us", name, scale=20_000, agents=40),), seed=5)
    pruned, reference = Simulator(config), Simulator(config)
    midnight = to_ms(datetime(day.year, day.month, day.day, tzinfo=zone(name)))
    windows = [
        (midnight + h * HOUR, midnight + (h + length) * HOUR) for h in range(-6, 30, 3) for length in (1, 4)
    ]
    windows.append((midnight - 24 * HOUR, midnight + 24 * HOUR))
    for start_ms, end_ms in windows:
        got = [(e.time_ms, e.seq) for e in pruned.tenant_state().status_log.events_between(start_ms, end_ms)]
        assert got == _all_days_events(reference, start_ms, end_ms), (start_ms, end_ms)
        assert got, "every window has agents at work"
    # The point of it: a short window does not generate every agent's previous day.
    fresh = Simulator(config)
    fresh.tenant_state().status_log.events_between(midnight + 14 * HOUR, midnight + 18 * HOUR)
    assert fresh.tenant_state().status_log.days_generated < 2 * len(fresh.tenant_state().world.agents)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("participants", [False, True])
def test_rows_written_directly_equal_json_dumps_of_render_row(legacy: bool, participants: bool) -> None:
    now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # the evening after the US fall-back
    sim = Simulator(SimConfig(tenants=(TenantConfig("t01", "us", "America/Chicago", scale=8_000),), seed=9))
    tenant = sim.tenant_state()
    opts = RenderOptions(zone("America/Chicago"), legacy, "pascal", 9)
    fields = FIELDS_BY_TYPE[INTERACTIONS]
    key_sets = [
        list(fields),
        ["time", "queueTime", "participantId", "finishedTime", "customerJourneyDuration"],
        # The last of the cosmetic draws alone, and a row-level participant aggregate.
        ["subject", "participantGroupName", "interactionId"],
        # What acdflow asks for.
        ["interactionId", "transactionId", "time", "queueTime", "queueId", "queueName", "direction",
         "mediaType", "interactionLabels", "outcome", "finishedTime", "queueWaitDuration",
         "participantOfferActionTime", "participantWrapUpEndTime", "participantHandlingEndTime",
         "participantOfferAction"],
    ]  # fmt: skip
    now_ms = to_ms(now)
    interactions = tenant.interactions.created_between(now_ms - 12 * HOUR, now_ms)
    assert len(interactions) > 2_000
    shapes = {len(ix.participants) for ix in interactions}
    assert {0, 1, 2} <= shapes
    for keys in key_sets:
        encoder = RowEncoder(keys, fields, opts, include_participants=participants)
        for ix in interactions:
            # Finished, and (for the last hours) viewed while still running.
            for as_of in {now_ms, max(ix.time_ms, ix.finished_ms - 60_000)}:
                values = interaction_values(ix, as_of, opts)
                reference = json.dumps(
                    render_row(values, keys, fields, opts, include_participants=participants)
                )
                assert encoder.encode(values) == reference, (ix.interaction_id, as_of)
                # Only the fields asked for, as pages compute them.
                needed = interaction_values(ix, as_of, opts, frozenset(keys))
                assert encoder.encode(needed) == reference, (ix.interaction_id, as_of)
    status_fields = FIELDS_BY_TYPE[AGENT_STATUS]
    for case in ("pascal", "camel"):
        status_opts = RenderOptions(zone("UTC"), legacy, case, 9)
        encoder = RowEncoder(list(status_fields), status_fields, status_opts, include_participants=False)
        events = tenant.status_log.events_between(now_ms - 6 * HOUR, now_ms)
        assert events
        for event in events:
            values = agent_status_values(event, status_opts)
            reference = json.dumps(
                render_row(
                    values, list(status_fields), status_fields, status_opts, include_participants=False
                )
            )
            assert encoder.encode(values) == reference


def test_concurrent_reports_generate_each_bucket_and_agent_day_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulator(
        SimConfig(tenants=(TenantConfig("t01", "us", "America/Chicago", scale=50_000, agents=30),))
    )
    tenant = sim.tenant_state()
    calls: list[tuple[object, ...]] = []
    generate_bucket = tenant.interactions._generate
    generate_day = tenant.status_log._generate

    def counted_bucket(index: int) -> tuple[Interaction, ...]:
        calls.append(("bucket", index))
        return generate_bucket(index)

    def counted_day(agent: Agent, day: date) -> tuple[StatusEvent, ...]:
        calls.append(("day", agent.index, day))
        return generate_day(agent, day)

    monkeypatch.setattr(tenant.interactions, "_generate", counted_bucket)
    monkeypatch.setattr(tenant.status_log, "_generate", counted_day)
    start = to_ms(datetime(2026, 6, 1, 12, tzinfo=UTC))
    end = start + 3 * HOUR
    barrier = threading.Barrier(6)
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def read() -> None:
        barrier.wait()
        counts = (
            len(tenant.interactions.created_between(start, end)),
            len(tenant.status_log.events_between(start, end)),
        )
        with lock:
            results.append(counts)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 6
    assert len(set(results)) == 1
    assert results[0][0] > 0
    assert results[0][1] > 0
    buckets = [c for c in calls if c[0] == "bucket"]
    assert len(buckets) == len(set(buckets)) == end // 900_000 - start // 900_000 + 1
    days = [c for c in calls if c[0] == "day"]
    assert days
    assert len(days) == len(set(days))
