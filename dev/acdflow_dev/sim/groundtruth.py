"""What a correct import stores, computed from the simulator's internal model.

This module deliberately shares no code with ``acdflow.transform`` or ``acdflow.eightbyeight``: it
implements the product rules (docs/8x8-api-notes.md, “Product rules acdflow reproduces”)
independently, on the model rather than on rendered rows.

Decisions:

* Windows are UTC ``[start, end)``; ``as_of`` defaults to the simulator clock. Interactions are
  selected by their true ``queueTime``; only interactions finished by ``as_of`` count.
* Malformed rows (fault ``malformed_rate``) are judged on the true record: ``rejected_interactions``
  lists rows a correct import quarantines (``missing_keys``, ``bad_timestamp``,
  ``naive_timestamp``, ``unknown_media``); ``null_queue`` rows are not errors but are dropped by the
  product rule on which interactions are imported and are listed by ``filtered_by_malformation``.
  Neither appears in ``interactions``/``interval_aht``.
* Handling time (the product's AHT rule): per ``Accepted`` participant, (wrap-up end, else handling
  end) − offer-action time, summed over accepting participants; negative per-participant results
  are discarded; ``None`` when no accepting participant has a computable time.
* ``aht_ms`` = ``handling_ms_sum / handled_count`` rounded half-up to whole milliseconds (3 decimals
  of a second), as ``Decimal``; ``aht_seconds`` is the same value in seconds.
* Agent statuses: one per distinct (agent, time, status); a row whose every copy is malformed is
  rejected (``rejected_agent_statuses``) and the previous status then ends at the next clean event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from acdflow_dev.sim.agentstatus import StatusEvent, camel
from acdflow_dev.sim.clock import from_ms, to_ms
from acdflow_dev.sim.interactions import BUCKET_MS, MAX_IVR_MS, Interaction
from acdflow_dev.sim.render import missing_key_for
from acdflow_dev.sim.tenant import TenantState

if TYPE_CHECKING:
    from acdflow_dev.sim.simulator import Simulator

CHANNELS = {"Phone": "call", "VoiceMail": "call", "Chat": "chat", "Email": "email"}
QUARANTINED = ("missing_keys", "bad_timestamp", "naive_timestamp", "unknown_media")


@dataclass(frozen=True)
class InteractionTruth:
    interaction_id: str
    queue_id: str
    queue_name: str
    channel: str
    media_type: str
    direction: str
    queue_time: datetime
    interval_start: datetime
    handled: bool
    handling_ms: int | None


@dataclass(frozen=True)
class RejectedInteraction:
    interaction_id: str
    kind: str
    field: str | None
    queue_name: str
    queue_time: datetime
    interval_start: datetime


@dataclass(frozen=True)
class IntervalAht:
    interval_start: datetime
    queue_name: str
    channel: str
    handled_count: int
    handling_ms_sum: int
    aht_ms: Decimal
    aht_seconds: Decimal


@dataclass(frozen=True)
class AgentStatusTruth:
    agent_id: str
    agent_name: str
    status: str
    status_code: str | None
    status_name: str
    start_time: datetime
    end_time: datetime | None


@dataclass(frozen=True)
class RejectedAgentStatus:
    agent_id: str
    time: datetime
    status: str
    kind: str
    status_code: str | None = None


@dataclass(frozen=True)
class LiveStatus:
    agent_id: str
    agent_name: str
    status: str
    status_code: str | None
    status_name: str
    start_time: datetime
    end_time: datetime | None


@dataclass(frozen=True)
class LiveStatusTruth:
    statuses: tuple[LiveStatus, ...]
    skipped: tuple[str, ...]


def status_name(status: str, code: str | None) -> str:
    """The product's status-name rule, implemented independently of the transform package."""
    if code is not None and code.strip() and status.lower() != "loggedout":
        return f"{status} ({code})"
    return status


def handling_ms(ix: Interaction) -> int | None:
    total: int | None = None
    for p in ix.participants:
        if not p.accepted:
            continue
        end = p.wrap_end_ms if p.wrap_end_ms is not None else p.handling_end_ms
        if end is None:
            continue
        value = end - p.action_ms
        if value < 0:
            continue
        total = value if total is None else total + value
    return total


def _floor15(ms: int) -> int:
    return ms - ms % BUCKET_MS


class GroundTruth:
    """Expected warehouse content for one tenant."""

    def __init__(self, sim: Simulator, tenant: TenantState) -> None:
        self._sim = sim
        self._tenant = tenant
        self.tenant_id = tenant.tenant_id

    def _as_of(self, as_of: datetime | None) -> int:
        return self._sim.clock.now_ms() if as_of is None else to_ms(as_of)

    def _selected(
        self, start: datetime, end: datetime, as_of: datetime | None
    ) -> list[tuple[Interaction, str | None]]:
        start_ms, end_ms, as_of_ms = to_ms(start), to_ms(end), self._as_of(as_of)
        out: list[tuple[Interaction, str | None]] = []
        for ix in self._tenant.interactions.created_between(start_ms - MAX_IVR_MS, end_ms - 1):
            qt = ix.queue_time_ms
            if (
                qt is None
                or not start_ms <= qt < end_ms
                or ix.finished_ms > as_of_ms
                or not ix.importable_shape
            ):
                continue
            out.append((ix, self._sim.faults.interaction_malformation(ix.interaction_id)))
        return out

    def interactions(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[InteractionTruth]:
        out: list[InteractionTruth] = []
        for ix, bad in self._selected(start, end, as_of):
            if bad is not None:
                continue
            assert ix.queue is not None
            assert ix.queue_time_ms is not None
            out.append(
                InteractionTruth(
                    interaction_id=ix.interaction_id,
                    queue_id=ix.queue.queue_id,
                    queue_name=ix.queue.name,
                    channel=CHANNELS[ix.media],
                    media_type=ix.media,
                    direction=ix.direction,
                    queue_time=from_ms(ix.queue_time_ms),
                    interval_start=from_ms(_floor15(ix.queue_time_ms)),
                    handled=ix.handled,
                    handling_ms=handling_ms(ix),
                )
            )
        out.sort(key=lambda t: (t.queue_time, t.interaction_id))
        return out

    def _malformed(
        self, start: datetime, end: datetime, as_of: datetime | None, kinds: tuple[str, ...]
    ) -> list[RejectedInteraction]:
        out: list[RejectedInteraction] = []
        for ix, bad in self._selected(start, end, as_of):
            if bad is None or bad not in kinds:
                continue
            assert ix.queue is not None
            assert ix.queue_time_ms is not None
            field = {
                "missing_keys": missing_key_for(ix.interaction_id),
                "bad_timestamp": "queueTime",
                "naive_timestamp": "queueTime",
                "unknown_media": "mediaType",
                "null_queue": "queueName",
            }.get(bad)
            out.append(
                RejectedInteraction(
                    ix.interaction_id, bad, field, ix.queue.name, from_ms(ix.queue_time_ms),
                    from_ms(_floor15(ix.queue_time_ms)),
                )
            )  # fmt: skip
        out.sort(key=lambda r: (r.queue_time, r.interaction_id))
        return out

    def rejected_interactions(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[RejectedInteraction]:
        """Rows a correct import quarantines, with the malformation kind as reason."""
        return self._malformed(start, end, as_of, QUARANTINED)

    def filtered_by_malformation(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[RejectedInteraction]:
        """``null_queue`` rows: no queue name, so the product rules drop them (not an error)."""
        return self._malformed(start, end, as_of, ("null_queue",))

    def interval_aht(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[IntervalAht]:
        groups: dict[tuple[datetime, str, str], list[int]] = defaultdict(list)
        for truth in self.interactions(start, end, as_of):
            if truth.handled and truth.handling_ms is not None:
                groups[(truth.interval_start, truth.queue_name, truth.channel)].append(truth.handling_ms)
        out: list[IntervalAht] = []
        for (interval, queue_name, channel), values in sorted(groups.items()):
            total = sum(values)
            aht = (Decimal(total) / Decimal(len(values))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            out.append(
                IntervalAht(
                    interval,
                    queue_name,
                    channel,
                    len(values),
                    total,
                    aht,
                    (aht / 1000).quantize(Decimal("0.001")),
                )
            )
        return out

    # -- agent statuses -----------------------------------------------------------------------------

    def _status_as_sent(self, event: StatusEvent) -> str:
        return camel(event.status) if self._sim.config.agent_status_case == "camel" else event.status

    def _clean(self, events: list[StatusEvent]) -> tuple[list[StatusEvent], list[RejectedAgentStatus]]:
        """Collapse duplicates; keep an event if any copy is well-formed."""
        faults = self._sim.faults
        by_key: dict[tuple[str, int, str], list[StatusEvent]] = defaultdict(list)
        for event in events:
            by_key[(event.agent.agent_id, event.time_ms, event.status)].append(event)
        clean: list[StatusEvent] = []
        rejected: list[RejectedAgentStatus] = []
        for copies in by_key.values():
            kinds = [faults.agent_malformation(c.key) for c in copies]
            for copy, kind in zip(copies, kinds, strict=True):
                if kind is not None:
                    rejected.append(
                        RejectedAgentStatus(
                            copy.agent.agent_id,
                            from_ms(copy.time_ms),
                            self._status_as_sent(copy),
                            kind,
                            copy.code.name if copy.code else None,
                        )
                    )
            good = [c for c, k in zip(copies, kinds, strict=True) if k is None]
            if good:
                clean.append(good[0])
        clean.sort(key=lambda e: (e.agent.agent_id, e.time_ms, e.seq))
        return clean, rejected

    def agent_status_history(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[AgentStatusTruth]:
        start_ms, end_ms, as_of_ms = to_ms(start), to_ms(end), self._as_of(as_of)
        log = self._tenant.status_log
        upper = min(end_ms - 1, as_of_ms)
        clean, _ = self._clean(log.events_between(start_ms, upper))
        out: list[AgentStatusTruth] = []
        by_agent: dict[str, list[StatusEvent]] = defaultdict(list)
        for event in clean:
            by_agent[event.agent.agent_id].append(event)
        for events in by_agent.values():
            agent = events[0].agent
            for index, event in enumerate(events):
                nxt: int | None = events[index + 1].time_ms if index + 1 < len(events) else None
                if nxt is None:
                    nxt = self._next_clean_after(agent.agent_id, event.time_ms, as_of_ms)
                code = event.code.name if event.code else None
                status = self._status_as_sent(event)
                out.append(
                    AgentStatusTruth(
                        agent.agent_id,
                        agent.name,
                        status,
                        code,
                        status_name(status, code),
                        from_ms(event.time_ms),
                        from_ms(nxt) if nxt is not None and nxt <= as_of_ms else None,
                    )
                )
        out.sort(key=lambda s: (s.start_time, s.agent_id))
        return out

    def _next_clean_after(self, agent_id: str, time_ms: int, as_of_ms: int) -> int | None:
        log = self._tenant.status_log
        agent = self._tenant.world.agents_by_id[agent_id]
        horizon = min(as_of_ms, time_ms + int(timedelta(days=14).total_seconds() * 1000))
        step = 86_400_000
        lo = time_ms + 1
        while lo <= horizon:
            hi = min(horizon, lo + step)
            clean, _ = self._clean(log.agent_events(agent, lo, hi))
            if clean:
                return clean[0].time_ms
            lo = hi + 1
        return None

    def rejected_agent_statuses(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[RejectedAgentStatus]:
        start_ms, end_ms, as_of_ms = to_ms(start), to_ms(end), self._as_of(as_of)
        _, rejected = self._clean(self._tenant.status_log.events_between(start_ms, min(end_ms - 1, as_of_ms)))
        return sorted(rejected, key=lambda r: (r.time, r.agent_id))

    def live_status(self, as_of: datetime | None = None) -> LiveStatusTruth:
        """The product's live-status rule on the internal live state; never-logged-in agents: ``skipped``."""
        as_of_ms = self._as_of(as_of)
        statuses: list[LiveStatus] = []
        skipped: list[str] = []
        for agent in sorted(self._tenant.world.agents, key=lambda a: a.agent_id):
            live = self._tenant.status_log.live_state(agent, as_of_ms)
            if live is None:
                skipped.append(agent.agent_id)
                continue
            code = live.code.name if live.code else None
            if live.status == "LoggedOut":
                assert live.last_logout_ms is not None
                start = end = from_ms(live.last_logout_ms)
                statuses.append(
                    LiveStatus(agent.agent_id, agent.name, live.status, code, "LoggedOut", start, end)
                )
                continue
            statuses.append(
                LiveStatus(
                    agent.agent_id, agent.name, live.status, code, status_name(live.status, code),
                    from_ms(live.status_since_ms), None,
                )
            )  # fmt: skip
        return LiveStatusTruth(tuple(statuses), tuple(skipped))
