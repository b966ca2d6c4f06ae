"""Data pages joined from cached row fragments equal pages rendered row by row, on every read;
timestamps formatted from cached offsets equal a conversion per timestamp.

The reference is ``render_page`` (model → row dicts → ``json.dumps``), computed in process from the
report's own snapshot; the pages under test come over HTTP. A simulator of its own per test, as
these tests move the clock and change the fault spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from acdflow_dev.sim import SimConfig, SimServer, Simulator
from acdflow_dev.sim.catalog import FIELDS_BY_TYPE
from acdflow_dev.sim.clock import to_ms
from acdflow_dev.sim.render import RenderOptions, interaction_values, render_row
from acdflow_dev.sim.reports import render_page
from acdflow_dev.sim.timefmt import (
    format_offset_ts,
    format_offset_ts_exact,
    local_ms_of_day,
    local_ms_of_day_exact,
    zone,
)

from .helpers import AGENT_STATUS, INTERACTIONS, NOW, Api, body

# PDT wall clock (the quirk): 08:00-13:00 on the day of NOW, whose clock reads 13:00 PDT, so the
# last hour holds interactions still running.
WINDOW = ("2026-03-10T08:00:00.000Z", "2026-03-10T12:59:59.999Z")
SIZE = 250


@pytest.fixture
def fresh() -> Iterator[tuple[Simulator, SimServer]]:
    sim = Simulator(SimConfig.single(seed=11, now=NOW, scale=5000, faults="malformed_rate=0.05;seed=2"))
    with sim.serve() as server:
        yield sim, server


def _pages(api: Api, sim: Simulator, report_id: int) -> list[tuple[bytes, bytes]]:
    """(served body, reference body) of every page of a report, following the cursor."""
    report = sim.reports.get_detailed(report_id, sim.tenant_state().tenant_id, sim.clock.now_ms())
    out: list[tuple[bytes, bytes]] = []
    cursor: str | None = None
    first = 0
    while True:
        params: dict[str, object] = {"size": SIZE}
        if cursor:
            params["lastDocumentId"] = cursor
        response = api.data(report_id, **params)
        assert response.status_code == 200, response.text
        out.append((response.content, render_page(report, report.rows[first : first + SIZE])))
        first += SIZE
        cursor = response.headers.get("Last-Document-Id")
        if not cursor:
            return out


def _interactions(api: Api, **settings: bool) -> int:
    return api.create_id(
        body(INTERACTIONS, *WINDOW, includeParticipants=True, reportSettings=settings) if settings else
        body(INTERACTIONS, *WINDOW, includeParticipants=True)
    )  # fmt: skip


def test_pages_equal_the_row_by_row_rendering_cold_and_warm(fresh: tuple[Simulator, SimServer]) -> None:
    sim, server = fresh
    api = Api(server.base_url)
    first = _interactions(api)
    cold = _pages(api, sim, first)
    assert sum(len(json.loads(served)) for served, _ in cold) > 500
    assert all(served == reference for served, reference in cold)
    rows = sim.reports.get_detailed(first, "acmecorp01", sim.clock.now_ms()).rows
    assert any(r.malformation for r in rows), "the window must hold malformed rows"
    fragments = sim.tenant_state().fragments
    assert fragments.hits == 0
    second = _interactions(api)
    warm = _pages(api, sim, second)
    final = sum(r.final for r in sim.reports.get_detailed(second, "acmecorp01", sim.clock.now_ms()).rows)
    assert fragments.hits == final > 0  # the second read was joined from fragments
    assert [served for served, _ in warm] == [served for served, _ in cold]
    assert all(served == reference for served, reference in warm)
    status = api.create_id(body(AGENT_STATUS, *WINDOW))
    for _ in range(2):
        assert all(served == reference for served, reference in _pages(api, sim, status))


def test_ongoing_rows_follow_the_clock(fresh: tuple[Simulator, SimServer]) -> None:
    """Rows still running when a report views them are not shared with later reports."""
    sim, server = fresh
    api = Api(server.base_url)
    settings = {"showOngoingInteractions": True}
    early = _interactions(api, **settings)
    early_rows = sim.reports.get_detailed(early, "acmecorp01", sim.clock.now_ms()).rows
    ongoing = [r for r in early_rows if not r.final]
    assert ongoing, "the window must hold interactions running at creation"
    before = _pages(api, sim, early)
    assert all(served == reference for served, reference in before)
    sim.clock.advance(timedelta(hours=4))  # everything of the window has finished by now
    api = Api(server.base_url)  # the old token has expired
    late = _interactions(api, **settings)
    after = _pages(api, sim, late)
    assert all(served == reference for served, reference in after)
    assert b"".join(s for s, _ in after) != b"".join(s for s, _ in before)
    # The earlier report is a snapshot: it still shows those rows as they were.
    assert _pages(api, sim, early) == before


def test_a_new_fault_spec_changes_the_malformed_rows(fresh: tuple[Simulator, SimServer]) -> None:
    sim, server = fresh
    api = Api(server.base_url)
    with_faults = _pages(api, sim, _interactions(api))
    sim.faults.configure("")
    clean = _pages(api, sim, _interactions(api))
    assert all(served == reference for served, reference in clean)
    assert [s for s, _ in clean] != [s for s, _ in with_faults]
    sim.faults.configure("malformed_rate=0.05;seed=2")
    assert [s for s, _ in _pages(api, sim, _interactions(api))] == [s for s, _ in with_faults]


def test_no_cache_serves_the_same_pages() -> None:
    config = {"seed": 11, "now": NOW, "scale": 5000, "faults": "malformed_rate=0.05;seed=2"}
    served: list[list[bytes]] = []
    for megabytes in (0, 64):
        sim = Simulator(SimConfig.single(fragment_cache_mb=megabytes, **config))  # type: ignore[arg-type]
        with sim.serve() as server:
            api = Api(server.base_url)
            served.append([s for s, _ in _pages(api, sim, _interactions(api))])
            if megabytes == 0:
                assert len(sim.tenant_state().fragments) == 0
    assert served[0] == served[1]


def test_a_finished_interaction_renders_the_same_at_any_later_instant() -> None:
    """The premise of sharing fragments across reports viewed at different instants."""
    sim = Simulator(SimConfig.single(seed=3, now=NOW, scale=5000))
    tenant = sim.tenant_state()
    opts = RenderOptions(zone(tenant.config.timezone), False, "pascal", 3)
    keys = list(FIELDS_BY_TYPE[INTERACTIONS])
    day = to_ms(NOW - timedelta(days=1))
    checked = 0
    for ix in tenant.interactions.created_between(day, day + 86_400_000):
        rows = [
            render_row(
                interaction_values(ix, as_of, opts),
                keys,
                FIELDS_BY_TYPE[INTERACTIONS],
                opts,
                include_participants=True,
            )
            for as_of in (ix.finished_ms, ix.finished_ms + 3_600_000, ix.finished_ms + 86_400_000 * 3)
        ]
        assert rows[0] == rows[1] == rows[2], ix.interaction_id
        checked += 1
    assert checked > 4000


@pytest.mark.parametrize(
    "name",
    ["America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham"],
)
def test_cached_offsets_format_like_a_conversion_per_timestamp(name: str) -> None:
    """Every 7 minutes of 2026 (both DST changes; Lord Howe shifts by 30 minutes, Chatham is +12:45)."""
    tz = zone(name)
    start = to_ms(datetime(2026, 1, 1, tzinfo=UTC))
    stamps = [*range(start, start + 366 * 86_400_000, 7 * 60_000 + 1)]
    assert [format_offset_ts(ms, tz) for ms in stamps] == [format_offset_ts_exact(ms, tz) for ms in stamps]
    assert [local_ms_of_day(ms, tz) for ms in stamps] == [local_ms_of_day_exact(ms, tz) for ms in stamps]
