"""Agent status events (report ``detailed-reports-agent-status-change``) and the live state derived
from them (realtime ``/agents``).

Events are generated lazily per (tenant, agent, local day) from the shift plan: a shift that starts on
local day D belongs to D even when it ends after midnight. Within a shift: ``LoggedIn``, often an
automatic ``OnBreak`` right after it (8x8 can put an agent on break automatically at login or after
a missed offer), interaction cycles (``Offered`` → ``Accepted`` → ``Handling`` → ``WrapUp`` →
``Available``, or ``Offered`` → ``Timeout``/``Rejected`` → automatic
``OnBreak``/``Available``), coded breaks (``Lunch``, ``Short Break``), ``WorkingOffline``
(``Training``, ``Attend Meeting``), occasional hold/mute/stop-new actions and outbound
``Initiated`` calls, and ``LoggedOut`` with ``End of shift``. A small share of events is emitted
twice, identically, to exercise de-duplication.

Event times of one agent strictly increase (except those exact duplicates). The interaction ids on
action events are synthetic and not cross-linked with the interaction report (simulator assumption).

Live state (8x8 publishes only examples of ``status.rt`` values; the simulator's states are
``Available``, ``Offering``, ``Handling``, ``WrapUp``, ``OnBreak``, ``WorkingOffline`` and
``LoggedOut``): ``LoggedIn`` → ``Available`` (an agent who logs in without an automatic break is
available), ``Offered`` → ``Offering``, ``Accepted``/``Handling``/``Initiated`` → ``Handling``,
``WrapUp`` → ``WrapUp``, presence states map to themselves; every other action (``Rejected``,
``Timeout``, hold, mute, stop-new) leaves the live state unchanged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from acdflow_dev.sim.cache import SingleFlightCache
from acdflow_dev.sim.rng import below, bounded_exp, randint, rng_for, token
from acdflow_dev.sim.timefmt import local_date, local_wall_to_ms
from acdflow_dev.sim.world import STATUS_CODES, Agent, Code, TenantWorld

MINUTE = 60_000
_SPAN_MARGIN_BEFORE_MS = 2 * 3_600_000
_SPAN_MARGIN_AFTER_MS = 6 * 3_600_000

LIVE_MAP: dict[str, str] = {
    "LoggedIn": "Available",
    "Available": "Available",
    "OnBreak": "OnBreak",
    "WorkingOffline": "WorkingOffline",
    "LoggedOut": "LoggedOut",
    "Offered": "Offering",
    "Accepted": "Handling",
    "Handling": "Handling",
    "Initiated": "Handling",
    "WrapUp": "WrapUp",
}


def _uniform(rng: random.Random, a: float, b: float) -> float:
    """``rng.uniform(a, b)``: the same draw and arithmetic."""
    return a + (b - a) * rng.random()


def camel(status: str) -> str:
    return status[:1].lower() + status[1:]


@dataclass(frozen=True, slots=True)
class StatusEvent:
    agent: Agent
    time_ms: int
    status: str
    code: Code | None
    interaction_id: str | None
    transaction_id: str | None
    seq: int
    duplicate: bool = False

    @property
    def key(self) -> str:
        """Stable identity of the row (duplicates get their own, so malformation is per row)."""
        return f"{self.agent.agent_id}|{self.time_ms}|{self.status}|{self.seq}"


@dataclass(frozen=True, slots=True)
class LiveState:
    agent: Agent
    status: str
    code: Code | None
    status_since_ms: int
    code_since_ms: int
    last_login_ms: int
    last_logout_ms: int | None
    logged_in: bool


@dataclass(frozen=True, slots=True)
class Segment:
    state: str
    start_ms: int
    end_ms: int


class _DayBuilder:
    def __init__(self, world: TenantWorld, agent: Agent, day: date, duplicate_rate: float) -> None:
        self.world = world
        self.agent = agent
        self.rng = rng_for(world.seed, world.tenant_id, "status", agent.agent_id, day.toordinal())
        self.base_seq = (day.toordinal() * 1000 + agent.index) * 10_000
        self.events: list[StatusEvent] = []
        self.duplicate_rate = duplicate_rate
        self.t = 0

    def emit(
        self, status: str, at: int, code: Code | None = None, interaction: tuple[str, str] | None = None
    ) -> None:
        at = max(at, self.t + 1)
        iid, tid = interaction if interaction else (None, None)
        seq = self.base_seq + len(self.events)
        event = StatusEvent(self.agent, at, status, code, iid, tid, seq)
        self.events.append(event)
        if self.rng.random() < self.duplicate_rate:
            self.events.append(
                StatusEvent(self.agent, at, status, code, iid, tid, self.base_seq + len(self.events), True)
            )
        self.t = at

    def interaction_ref(self) -> tuple[str, str]:
        rng = self.rng
        iid = f"int-{self.t:011x}-{token(rng, 25)}-phone-01-analytics{self.world.region_infix}12prod01"
        return iid, str(10_000 + below(rng, 99_999_999 - 10_000))


class StatusEventLog:
    """Lazily generated, cached agent status events and live state of one tenant."""

    def __init__(self, world: TenantWorld, *, duplicate_rate: float, cache_size: int = 20_000) -> None:
        self.world = world
        self.duplicate_rate = duplicate_rate
        # One generation per agent-day however many reports ask for it at once.
        self._cache: SingleFlightCache[tuple[int, int], tuple[StatusEvent, ...]] = SingleFlightCache(
            cache_size
        )
        self.days_generated = 0
        per_agent_day = world.tenant.scale / max(1, world.tenant.agent_count - 1)
        self.cycles_per_hour = max(1.0, per_agent_day / 7.5)

    # -- generation ---------------------------------------------------------------------------------

    def day_events(self, agent: Agent, day: date) -> tuple[StatusEvent, ...]:
        return self._cache.get(
            (agent.index, day.toordinal()), lambda: self._generate(agent, day), self._count_day
        )

    def _count_day(self, _events: tuple[StatusEvent, ...]) -> None:
        self.days_generated += 1

    def _generate(self, agent: Agent, day: date) -> tuple[StatusEvent, ...]:
        world = self.world
        if not world.works_on(agent, day):
            return ()
        b = _DayBuilder(world, agent, day, self.duplicate_rate)
        rng = b.rng
        shift = agent.shift
        start = local_wall_to_ms(day, (shift.start_minute + randint(rng, -10, 10)) * MINUTE, world.tz)
        start += below(rng, 60_000)
        end = start + (shift.length_minutes + randint(rng, -5, 15)) * MINUTE
        b.t = start - 1
        b.emit("LoggedIn", start)
        if rng.random() < 0.6:
            b.emit("OnBreak", b.t + randint(rng, 1, 800))
            b.emit("Available", b.t + randint(rng, 10_000, 240_000))
        length = end - start
        breaks = sorted(
            [
                (start + int(length * _uniform(rng, 0.2, 0.3)), "OnBreak", 1, randint(rng, 8, 15)),
                (start + int(length * _uniform(rng, 0.45, 0.55)), "OnBreak", 0, randint(rng, 30, 45)),
                (start + int(length * _uniform(rng, 0.7, 0.8)), "OnBreak", 1, randint(rng, 8, 15)),
            ]
            + (
                [
                    (
                        start + int(length * _uniform(rng, 0.1, 0.9)),
                        "WorkingOffline",
                        below(rng, 2),
                        randint(rng, 20, 60),
                    )
                ]
                if rng.random() < 0.35
                else []
            )
        )
        mean_gap = max(20_000.0, 3_600_000 / self.cycles_per_hour - 330_000)
        while True:
            gap = int(bounded_exp(rng, mean_gap, 2_000, mean_gap * 5))
            next_at = b.t + gap
            if breaks and breaks[0][0] <= next_at:
                at, status, code_index, minutes = breaks.pop(0)
                codes = STATUS_CODES[status]
                b.emit(status, max(at, b.t + 1), codes[code_index % len(codes)])
                b.emit("Available", b.t + minutes * MINUTE + below(rng, 60_000))
                continue
            if next_at >= end - 5 * MINUTE:
                break
            self._cycle(b, rng, next_at)
        b.emit("LoggedOut", max(end, b.t + 1_000), STATUS_CODES["LoggedOut"][0])
        return tuple(b.events)

    def _cycle(self, b: _DayBuilder, rng: random.Random, at: int) -> None:
        roll = rng.random()
        if roll < 0.04:
            b.emit("StopNew", at)
            b.emit("ResumeStopNew", b.t + randint(rng, 30_000, 300_000))
            return
        ref = b.interaction_ref()
        if roll < 0.08:
            b.emit("Initiated", at, interaction=ref)
            b.emit("Handling", b.t + randint(rng, 200, 3_000), interaction=ref)
            b.emit("WrapUp", b.t + int(bounded_exp(rng, 180_000, 10_000, 600_000)), interaction=ref)
            b.emit("Available", b.t + randint(rng, 5_000, 90_000))
            return
        b.emit("Offered", at, interaction=ref)
        outcome = rng.random()
        if outcome < 0.07:
            b.emit("Timeout", b.t + randint(rng, 19_500, 20_500), interaction=ref)
            b.emit("OnBreak", b.t + randint(rng, 1, 500))
            b.emit("Available", b.t + randint(rng, 10_000, 120_000))
            return
        if outcome < 0.12:
            b.emit("Rejected", b.t + randint(rng, 1_500, 9_000), interaction=ref)
            b.emit("Available", b.t + randint(rng, 1, 500))
            return
        b.emit("Accepted", b.t + randint(rng, 800, 12_000), interaction=ref)
        b.emit("Handling", b.t + randint(rng, 1, 300), interaction=ref)
        handling = int(bounded_exp(rng, 280_000, 20_000, 1_200_000))
        handling_end = b.t + handling
        if rng.random() < 0.2:
            b.emit("PutOnHold", b.t + handling // 3, interaction=ref)
            b.emit("HoldResumed", b.t + randint(rng, 5_000, max(6_000, handling // 4)), interaction=ref)
        if rng.random() < 0.1:
            b.emit("Muted", b.t + randint(rng, 1_000, 20_000), interaction=ref)
            b.emit("Unmuted", b.t + randint(rng, 1_000, 20_000), interaction=ref)
        b.emit("WrapUp", max(handling_end, b.t + 1_000), interaction=ref)
        b.emit("Available", b.t + int(bounded_exp(rng, 30_000, 2_000, 180_000)))

    # -- queries ------------------------------------------------------------------------------------

    def events_between(
        self, start_ms: int, end_ms: int, agents: tuple[Agent, ...] | None = None
    ) -> list[StatusEvent]:
        """Events with ``start_ms <= time <= end_ms`` (inclusive), all agents, time order."""
        if end_ms < start_ms:
            return []
        tz = self.world.tz
        first = local_date(start_ms, tz) - timedelta(days=1)
        last = local_date(end_ms, tz)
        out: list[StatusEvent] = []
        for agent in agents if agents is not None else self.world.agents:
            day = first
            while day <= last:
                lower, upper = self._day_span(agent, day)
                # A day whose shift cannot reach the window is not generated (most agents' day
                # before the window): the same events, a fraction of the work.
                if lower <= end_ms and upper >= start_ms:
                    out.extend(e for e in self.day_events(agent, day) if start_ms <= e.time_ms <= end_ms)
                day += timedelta(days=1)
        out.sort(key=lambda e: (e.time_ms, e.seq))
        return out

    def _day_span(self, agent: Agent, day: date) -> tuple[int, int]:
        """Bounds no event of the agent's shift starting on local ``day`` can lie outside.

        The shift starts within 10 minutes and a minute of its template start and its planned end is
        at most 15 minutes after the template length; events run past the planned end by the
        interaction, breaks and wrap-up in progress then, far less than the margin. The margins also
        absorb a DST change on the day (wall-clock times there map to instants an hour apart).
        """
        shift = agent.shift
        tz = self.world.tz
        lower = local_wall_to_ms(day, (shift.start_minute - 10) * MINUTE, tz) - _SPAN_MARGIN_BEFORE_MS
        upper = (
            local_wall_to_ms(day, (shift.start_minute + 11 + shift.length_minutes + 15) * MINUTE, tz)
            + _SPAN_MARGIN_AFTER_MS
        )
        return lower, upper

    def agent_events(self, agent: Agent, start_ms: int, end_ms: int) -> list[StatusEvent]:
        return self.events_between(start_ms, end_ms, (agent,))

    def next_event_after(self, agent: Agent, time_ms: int, horizon_days: int = 3) -> StatusEvent | None:
        """The agent's first event strictly after ``time_ms`` (duplicates skipped)."""
        tz = self.world.tz
        day = local_date(time_ms, tz) - timedelta(days=1)
        for _ in range(horizon_days + 2):
            for event in self.day_events(agent, day):
                if event.time_ms > time_ms and not event.duplicate:
                    return event
            day += timedelta(days=1)
        return None

    def _last_event(
        self, agent: Agent, now_ms: int, status: str, before_ms: int | None = None
    ) -> StatusEvent | None:
        tz = self.world.tz
        limit = now_ms if before_ms is None else before_ms
        day = local_date(limit, tz)
        for _ in range(22):
            candidates = [e for e in self.day_events(agent, day) if e.status == status and e.time_ms <= limit]
            if before_ms is not None:
                candidates = [e for e in candidates if e.time_ms < before_ms]
            if candidates:
                return candidates[-1]
            day -= timedelta(days=1)
        return None

    def live_state(self, agent: Agent, now_ms: int) -> LiveState | None:
        """Live state at ``now_ms``; ``None`` for an agent with no login in the last three weeks."""
        login = self._last_event(agent, now_ms, "LoggedIn")
        if login is None:
            return None
        previous_logout = self._last_event(agent, now_ms, "LoggedOut", before_ms=login.time_ms)
        events = self.agent_events(agent, login.time_ms, now_ms)
        status: str = "Available"
        code: Code | None = None
        status_since = login.time_ms
        last_logout = previous_logout.time_ms if previous_logout else None
        logged_in = True
        for event in events:
            live = LIVE_MAP.get(event.status)
            if live is None:
                continue
            if live != status:
                status, status_since = live, event.time_ms
            code = event.code
            if event.status == "LoggedOut":
                logged_in, last_logout = False, event.time_ms
        code_since = self._code_since(events, login.time_ms)
        return LiveState(agent, status, code, status_since, code_since, login.time_ms, last_logout, logged_in)

    @staticmethod
    def _code_since(events: list[StatusEvent], login_ms: int) -> int:
        """When the (live status, code) combination last changed (``timeOnStatusCode.rt``)."""
        combo: tuple[str, str | None] = ("Available", None)
        since = login_ms
        for event in events:
            live = LIVE_MAP.get(event.status)
            if live is None:
                continue
            new = (live, event.code.name if event.code else None)
            if new != combo:
                combo, since = new, event.time_ms
        return since

    def segments(self, agent: Agent, start_ms: int, end_ms: int) -> tuple[list[Segment], list[StatusEvent]]:
        """Live-state segments clipped to ``[start_ms, end_ms]`` and the events inside it."""
        tz = self.world.tz
        replay_from = local_wall_to_ms(local_date(start_ms, tz) - timedelta(days=1), 0, tz)
        events = self.agent_events(agent, replay_from, end_ms)
        state, since = "LoggedOut", replay_from
        segments: list[Segment] = []
        inside: list[StatusEvent] = []
        for event in events:
            if event.time_ms >= start_ms:
                inside.append(event)
            live = LIVE_MAP.get(event.status)
            if live is None or live == state:
                continue
            if event.time_ms > start_ms and since < end_ms:
                segments.append(Segment(state, max(since, start_ms), min(event.time_ms, end_ms)))
            state, since = live, event.time_ms
        if since < end_ms:
            segments.append(Segment(state, max(since, start_ms), end_ms))
        return [s for s in segments if s.end_ms > s.start_ms], inside
