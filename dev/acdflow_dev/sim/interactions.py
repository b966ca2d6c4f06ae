"""Interaction model and its lazy, deterministic generator.

Interactions are generated per UTC 15-minute bucket of *creation* time with an RNG seeded from
(seed, tenant, bucket) by SHA-256, and kept in a weighted LRU cache: asking for one window at
100,000 interactions/day generates only the buckets that window touches, and a bucket always yields
the same interactions.

Generated kinds (all four media, both directions, plus rows the product rules must filter out):

* queued inbound/outbound Phone, Chat, Email, VoiceMail: abandoned (with or without a participant),
  handled after 0-2 offer timeouts/rejections, transfers with several accepting participants,
  accepted participants without wrap-up (handling end present, wrap-up end null);
* queued ``InternalDir`` consultation calls (``interactionType`` ``ConsultationCall``) — queue set,
  direction neither inbound nor outbound (simulator assumption);
* non-queued: direct inbound calls (``DirectAgentAccess``), direct outbound calls
  (``OutboundCall``), internal calls (``InternalCall``, direction ``InternalDir``), calls that end in
  the IVR (``EndedInIvr``, no participant).

Every participant is an ``Agent`` (no ``ExternalNumber`` rows), so "Accepted participant" in the AHT
rule is unambiguous. ``finishedTime`` is the last instant of the interaction including wrap-up, so
nothing of a finished interaction lies after it.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate

from acdflow_dev.sim.cache import SingleFlightCache
from acdflow_dev.sim.rng import below, bounded_exp, poisson, randint, randints, rng_for, token
from acdflow_dev.sim.timefmt import local_ms_of_day
from acdflow_dev.sim.world import WRAP_UP_CODES, Agent, Code, Queue, TenantWorld

BUCKET_MS = 15 * 60 * 1000
DAY_MS = 86_400_000
# Upper bound of creation -> queueTime (IVR/script time). Windows selected by queueTime only need
# buckets from this far before their start.
MAX_IVR_MS = 6 * 60 * 1000
LATE_MIN_MS = 20 * 60 * 1000
# Volume per local hour, relative; normalised to a mean of 1 below.
_DIURNAL_RAW = (
    0.12, 0.10, 0.08, 0.08, 0.10, 0.18, 0.40, 0.80, 1.40, 1.80, 1.90, 1.85,
    1.70, 1.75, 1.80, 1.70, 1.50, 1.20, 0.90, 0.70, 0.50, 0.35, 0.25, 0.17,
)  # fmt: skip
DIURNAL = tuple(w * 24 / sum(_DIURNAL_RAW) for w in _DIURNAL_RAW)

ACCEPTED = "Accepted"


@dataclass(frozen=True, slots=True)
class Participant:
    number: int
    agent: Agent
    assign_reason: str
    offer_ms: int
    action: str
    action_ms: int
    handling_end_ms: int | None
    wrap_end_ms: int | None
    hold_count: int = 0
    hold_ms: int = 0
    longest_hold_ms: int = 0
    focus_count: int = 0
    focus_ms: int = 0
    longest_focus_ms: int = 0
    warm_transfers: int = 0
    blind_to_agent: int = 0
    blind_to_queue: int = 0
    wrap_code: Code | None = None

    @property
    def accepted(self) -> bool:
        return self.action == ACCEPTED

    @property
    def end_ms(self) -> int:
        return max(x for x in (self.action_ms, self.handling_end_ms, self.wrap_end_ms) if x is not None)


@dataclass(frozen=True, slots=True)
class Interaction:
    interaction_id: str
    seq: int
    tenant_id: str
    kind: str
    media: str
    direction: str
    interaction_type: str | None
    time_ms: int
    queue: Queue | None
    queue_time_ms: int | None
    finished_ms: int
    participants: tuple[Participant, ...]
    labels: tuple[tuple[str, int], ...]
    outcome: str
    abandon_ms: int | None
    transfers: str | None
    terminated_by: str

    @property
    def handled(self) -> bool:
        return any(label == "Handled" for label, _ in self.labels)

    @property
    def importable_shape(self) -> bool:
        """Passes the product filters before any malformation: has a queue and an in/out direction."""
        return self.queue is not None and self.direction in ("InboundDir", "OutboundDir")


# Per-media phase parameters: (ivr mean, ivr max, wait mean, wait max, handling mean, handling max), ms.
_MEDIA_TIMING: dict[str, tuple[float, float, float, float, float, float]] = {
    "Phone": (25_000, 150_000, 40_000, 240_000, 240_000, 420_000),
    "Chat": (4_000, 30_000, 25_000, 180_000, 360_000, 420_000),
    "Email": (60_000, 180_000, 120_000, 240_000, 300_000, 420_000),
    "VoiceMail": (45_000, 120_000, 90_000, 240_000, 60_000, 180_000),
}
_ABANDON_P = {"Phone": 0.09, "Chat": 0.07, "Email": 0.01, "VoiceMail": 0.02}
# Populations and cumulative weights exactly as random.Random.choice/choices build them.
_FAILED_COUNTS = (0, 1, 2)
_FAILED_CUM = list(accumulate((0.8, 0.15, 0.05)))
_FAILED_TOTAL = _FAILED_CUM[-1] + 0.0
_HOLD_COUNTS = (0, 1, 2)
_HOLD_CUM = list(accumulate((0.75, 0.2, 0.05)))
_HOLD_TOTAL = _HOLD_CUM[-1] + 0.0
_FAILED_ACTIONS = ("OfferTimeout", "OfferTimeout", "Rejected")
_TRANSFER_KINDS = ("TransferredToAgent", "TransferredToQueue")
_TERMINATED = ("Agent", "Customer", "Customer")
_MEDIA = ("Phone", "Chat", "Email", "VoiceMail")
_MEDIA_CUM = list(accumulate((0.55, 0.2, 0.15, 0.1)))
_MEDIA_TOTAL = _MEDIA_CUM[-1] + 0.0


class _Plan:
    """Draws all random numbers of one interaction up front so its timeline can be laid out twice
    (once naturally, once stretched for a late finisher) from the same draws."""

    def __init__(self, rng: random.Random, media: str) -> None:
        # Spelled out with rng.py's exact equivalents of randint/choice/choices: the same draws in
        # the same order as the random.Random methods, at a fraction of their call overhead.
        ivr_mean, ivr_max, wait_mean, wait_max, hmean, hmax = _MEDIA_TIMING[media]
        uniform = rng.random
        # A small share of long IVR/script times pushes queueTime into the next 15-minute bucket.
        if uniform() < 0.03:
            self.ivr = randint(rng, int(ivr_max), MAX_IVR_MS)
        else:
            self.ivr = int(bounded_exp(rng, ivr_mean, 200, ivr_max))
        self.wait = int(bounded_exp(rng, wait_mean, 500, wait_max))
        self.failed = _FAILED_COUNTS[bisect(_FAILED_CUM, uniform() * _FAILED_TOTAL, 0, 2)]
        self.failed_actions = [_FAILED_ACTIONS[below(rng, 3)] for _ in range(2)]
        self.reject_ms = randints(rng, 1500, 9000, 2)
        self.timeout_ms = randints(rng, 19_500, 20_500, 2)
        self.gaps = randints(rng, 300, 15_000, 4)
        self.accept_ms = randints(rng, 800, 12_000, 2)
        self.handling = [int(bounded_exp(rng, hmean, 8_000, hmax)) for _ in range(2)]
        self.wrap = [int(bounded_exp(rng, 35_000, 2_000, 120_000)) for _ in range(2)]
        self.no_wrap = uniform() < 0.06
        self.abandon_with_participant = uniform() < 0.3
        self.abandon_offer_ms = randint(rng, 1_000, 15_000)
        self.transfer = uniform() < 0.08
        self.transfer_kind = _TRANSFER_KINDS[below(rng, 2)]
        self.first_no_wrap = uniform() < 0.5
        self.holds = _HOLD_COUNTS[bisect(_HOLD_CUM, uniform() * _HOLD_TOTAL, 0, 2)]
        self.hold_fraction = 0.05 + (0.3 - 0.05) * uniform()
        self.focus = randint(rng, 1, 6)
        self.agents_pick = [uniform() for _ in range(4)]
        self.wrap_pick = [uniform() for _ in range(2)]
        self.terminated = _TERMINATED[below(rng, 3)]
        self.late_pick = uniform()


class InteractionGenerator:
    """Lazily generates and caches the interactions of one tenant."""

    def __init__(
        self,
        world: TenantWorld,
        *,
        late_rate: float,
        max_interaction_minutes: int,
        cache_weight: int = 400_000,
    ) -> None:
        self.world = world
        self.late_rate = late_rate
        self.max_ms = max_interaction_minutes * 60_000
        # Weighed by interactions (each bucket at least 1); concurrent reports over one window wait
        # for one generation.
        self._cache: SingleFlightCache[int, tuple[Interaction, ...]] = SingleFlightCache(
            cache_weight, weight=lambda bucket: len(bucket) + 1
        )
        self.buckets_generated = 0
        self._inbound = {
            media: [q for q in world.queues if q.media == media and q.direction == "InboundDir"]
            for media in _MEDIA
        }
        self.interactions_generated = 0

    # -- public -------------------------------------------------------------------------------------

    def bucket(self, index: int) -> tuple[Interaction, ...]:
        return self._cache.get(index, lambda: self._generate(index), self._count_bucket)

    def _count_bucket(self, generated: tuple[Interaction, ...]) -> None:
        self.buckets_generated += 1
        self.interactions_generated += len(generated)

    def created_between(self, start_ms: int, end_ms: int) -> list[Interaction]:
        """Interactions with creation time in ``[start_ms, end_ms]`` (inclusive), creation order."""
        if end_ms < start_ms:
            return []
        out: list[Interaction] = []
        for index in range(start_ms // BUCKET_MS, end_ms // BUCKET_MS + 1):
            out.extend(i for i in self.bucket(index) if start_ms <= i.time_ms <= end_ms)
        return out

    # -- generation ---------------------------------------------------------------------------------

    def _generate(self, index: int) -> tuple[Interaction, ...]:
        world = self.world
        rng = rng_for(world.seed, world.tenant_id, "interactions", index)
        start_ms = index * BUCKET_MS
        hour = local_ms_of_day(start_ms, world.tz) // 3_600_000
        lam = world.tenant.scale / 96 * DIURNAL[hour]
        count = poisson(rng, lam)
        floor = 3 if world.tenant.scale >= 500 else 0
        count = max(count, floor)
        offsets = sorted(below(rng, BUCKET_MS) for _ in range(count))
        out: list[Interaction] = []
        for i, offset in enumerate(offsets):
            sub = random.Random(rng.getrandbits(64))
            # The first two of every bucket are ordinary queued inbound interactions, so at
            # scale >= 500 each bucket has importable data.
            forced = floor > 0 and i < 2
            out.append(self._one(sub, start_ms + offset, index * 100_000 + i, forced))
        return tuple(out)

    def _one(self, rng: random.Random, t: int, seq: int, forced: bool) -> Interaction:
        roll = 0.0 if forced else rng.random()
        if roll < 0.86:
            return self._queued(rng, t, seq, forced)
        if roll < 0.90:
            return self._direct(rng, t, seq, "direct_in")
        if roll < 0.93:
            return self._direct(rng, t, seq, "direct_out")
        if roll < 0.96:
            return self._direct(rng, t, seq, "internal")
        if roll < 0.98:
            return self._ivr_end(rng, t, seq)
        return self._queued(rng, t, seq, False, internal=True)

    def _interaction_id(self, rng: random.Random, t: int, media: str) -> str:
        return f"int-{t:011x}-{token(rng, 25)}-{media.lower()}-01-analytics{self.world.region_infix}12prod01"

    def _pick_agent(self, t: int, pick: float, exclude: Agent | None = None) -> Agent:
        return self.world.pick_agent(local_ms_of_day(t, self.world.tz) // 60_000, pick, exclude)

    def _queued(
        self, rng: random.Random, t: int, seq: int, forced: bool, internal: bool = False
    ) -> Interaction:
        queues = self.world.queues
        if internal:
            queue = queues[9]
        elif forced or rng.random() < 0.9:
            media = _MEDIA[bisect(_MEDIA_CUM, rng.random() * _MEDIA_TOTAL, 0, 3)]
            candidates = self._inbound[media]
            queue = candidates[below(rng, len(candidates))]
        else:
            queue = queues[7] if rng.random() < 0.6 else queues[8]
        media = queue.media
        plan = _Plan(rng, media)
        abandoned = rng.random() < _ABANDON_P[media]
        late = rng.random() < self.late_rate
        iid = self._interaction_id(rng, t, media)
        itype = {"InternalDir": "ConsultationCall"}.get(queue.direction)
        if queue.queue_id == "419":
            itype = "Callback"
        natural = self._layout_queued(plan, t, seq, iid, queue, itype, abandoned, 0)
        return self._finalise(
            natural,
            plan,
            late,
            lambda extra: self._layout_queued(plan, t, seq, iid, queue, itype, abandoned, extra),
        )

    def _finalise(self, natural: Interaction, plan: _Plan, late: bool, relayout: object) -> Interaction:
        """Stretch late finishers to 20 min … max, and keep the others under 20 min."""
        assert callable(relayout)
        duration = natural.finished_ms - natural.time_ms
        if late:
            target = int(LATE_MIN_MS + plan.late_pick * (self.max_ms - LATE_MIN_MS))
            if target > duration:
                stretched: Interaction = relayout(target - duration)
                return stretched
            return natural
        if duration >= LATE_MIN_MS - 30_000:
            shrunk: Interaction = relayout(LATE_MIN_MS - 60_000 - duration)
            return shrunk
        return natural

    def _layout_queued(
        self,
        plan: _Plan,
        t: int,
        seq: int,
        iid: str,
        queue: Queue,
        itype: str | None,
        abandoned: bool,
        extra: int,
    ) -> Interaction:
        qt = t + plan.ivr
        labels: list[tuple[str, int]] = [("Queued", qt)]
        participants: list[Participant] = []
        cursor = qt + plan.wait
        number = 0
        used: Agent | None = None
        failed = plan.failed if not abandoned else min(plan.failed, 1)
        for k in range(failed):
            number += 1
            agent = self._pick_agent(cursor, plan.agents_pick[k], used)
            action = plan.failed_actions[k]
            act = cursor + (plan.timeout_ms[k] if action == "OfferTimeout" else plan.reject_ms[k])
            participants.append(Participant(number, agent, "Offered", cursor, action, act, None, None))
            labels.append(("OfferingTimeout" if action == "OfferTimeout" else "Rejected", act))
            used = agent
            cursor = act + plan.gaps[k]
        if abandoned:
            # Abandon wait absorbs the stretch of a late finisher (an e-mail left unanswered).
            abandon = cursor + max(0, extra)
            if plan.abandon_with_participant:
                number += 1
                agent = self._pick_agent(abandon, plan.agents_pick[2], used)
                act = abandon + plan.abandon_offer_ms
                participants.append(
                    Participant(number, agent, "Offered", abandon, "Abandoned", act, None, None)
                )
                abandon = act
            labels.append(("Abandoned", abandon))
            return Interaction(
                iid, seq, self.world.tenant_id, "queued", queue.media, queue.direction, itype, t, queue, qt,
                abandon, tuple(participants), tuple(labels), "Abandoned", abandon, None, "Customer",
            )  # fmt: skip
        transfer = plan.transfer
        rounds = 2 if transfer else 1
        finished = cursor
        transfers: str | None = None
        for r in range(rounds):
            number += 1
            agent = self._pick_agent(cursor, plan.agents_pick[2 + r] if r == 0 else plan.agents_pick[1], used)
            action_ms = cursor + plan.accept_ms[r]
            handling = plan.handling[r]
            if r == rounds - 1:
                handling = max(5_000, handling + extra)
            hend = action_ms + handling
            has_wrap = not (
                (transfer and r == 0 and plan.first_no_wrap) or (r == rounds - 1 and plan.no_wrap)
            )
            wend = hend + plan.wrap[r] if has_wrap else None
            hold_ms = int(handling * plan.hold_fraction) if plan.holds and queue.media == "Phone" else 0
            holds = plan.holds if hold_ms else 0
            digital = queue.media in ("Chat", "Email")
            code = WRAP_UP_CODES[int(plan.wrap_pick[r] * len(WRAP_UP_CODES))] if has_wrap else None
            transferring = transfer and r == 0
            participants.append(
                Participant(
                    number,
                    agent,
                    "TransferReceived" if r else "Offered",
                    cursor,
                    ACCEPTED,
                    action_ms,
                    hend,
                    wend,
                    hold_count=holds,
                    hold_ms=hold_ms,
                    longest_hold_ms=hold_ms // max(holds, 1),
                    focus_count=plan.focus if digital else 0,
                    focus_ms=int(handling * 0.8) if digital else 0,
                    longest_focus_ms=int(handling * 0.8 / plan.focus) if digital else 0,
                    blind_to_queue=int(transferring and plan.transfer_kind == "TransferredToQueue"),
                    blind_to_agent=int(transferring and plan.transfer_kind == "TransferredToAgent"),
                    wrap_code=code,
                )
            )
            if r == 0:
                labels.append(("Handled", action_ms))
            if transfer and r == 0:
                labels.append((plan.transfer_kind, hend))
                transfers = (
                    "TransferToAgent" if plan.transfer_kind == "TransferredToAgent" else "TransferToQueue"
                )
            used = agent
            finished = max(finished, hend, wend or 0)
            cursor = hend + plan.gaps[2 + r]
        return Interaction(
            iid, seq, self.world.tenant_id, "queued", queue.media, queue.direction, itype, t, queue, qt,
            finished, tuple(participants), tuple(labels), "Handled", None, transfers, plan.terminated,
        )  # fmt: skip

    def _direct(self, rng: random.Random, t: int, seq: int, kind: str) -> Interaction:
        plan = _Plan(rng, "Phone")
        late = rng.random() < self.late_rate
        iid = self._interaction_id(rng, t, "Phone")
        natural = self._layout_direct(plan, t, seq, iid, kind, 0)
        return self._finalise(
            natural, plan, late, lambda extra: self._layout_direct(plan, t, seq, iid, kind, extra)
        )

    def _layout_direct(self, plan: _Plan, t: int, seq: int, iid: str, kind: str, extra: int) -> Interaction:
        agent = self._pick_agent(t, plan.agents_pick[0])
        if kind == "direct_in":
            direction, itype, reason = "InboundDir", None, "Offered"
            offer = t + min(plan.ivr, 20_000)
            action = offer + plan.accept_ms[0]
            first_label = [("DirectAgentAccess", offer)]
        else:
            direction = "OutboundDir" if kind == "direct_out" else "InternalDir"
            itype = "OutboundCall" if kind == "direct_out" else "InternalCall"
            reason, offer, action, first_label = "Initiated", t, t, []
        hend = action + max(5_000, plan.handling[0] + extra)
        wend = None if plan.no_wrap else hend + plan.wrap[0]
        code = None if wend is None else WRAP_UP_CODES[int(plan.wrap_pick[0] * len(WRAP_UP_CODES))]
        participant = Participant(1, agent, reason, offer, ACCEPTED, action, hend, wend, wrap_code=code)
        labels = (*first_label, ("Handled", action))
        return Interaction(
            iid, seq, self.world.tenant_id, kind, "Phone", direction, itype, t, None, None, wend or hend,
            (participant,), tuple(labels), "Handled", None, None, plan.terminated,
        )  # fmt: skip

    def _ivr_end(self, rng: random.Random, t: int, seq: int) -> Interaction:
        iid = self._interaction_id(rng, t, "Phone")
        end = t + randint(rng, 5_000, 120_000)
        return Interaction(
            iid, seq, self.world.tenant_id, "ivr_end", "Phone", "InboundDir", None, t, None, None, end, (),
            (("EndedInIvr", end),), "EndedInIvr", None, None, "Customer",
        )  # fmt: skip
