"""The static part of a tenant: queues, agents, groups, status codes, wrap-up codes and shifts.

Everything is derived from (seed, tenant id) with stable hashing, so two processes with the same
configuration see the same tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from acdflow_dev.sim.config import TenantConfig
from acdflow_dev.sim.rng import rng_for, stable_unit, token

FIRST_NAMES = (
    "Maria", "Sam", "Priya", "Jonas", "Aiko", "Lucas", "Fatima", "Noah", "Elena", "Omar", "Grace",
    "Mateo", "Chloe", "Ivan", "Amara", "Liam", "Sofia", "Kenji", "Nadia", "Ethan", "Zara", "Diego",
    "Hannah", "Tariq", "Ingrid", "Kofi", "Mei", "Pablo", "Leah", "Arjun",
)  # fmt: skip
LAST_NAMES = (
    "Lopez", "Okafor", "Natarajan", "Berg", "Tanaka", "Silva", "Haddad", "Kim", "Petrova", "Farouk",
    "Walsh", "Garcia", "Dubois", "Novak", "Mensah", "Murphy", "Rossi", "Sato", "Aziz", "Clarke",
    "Khan", "Morales", "Schmidt", "Rahman", "Larsen", "Owusu", "Chen", "Ortiz", "Cohen", "Patel",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Queue:
    queue_id: str
    name: str
    media: str
    direction: str
    channel_id: str | None
    channel_name: str | None


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift template in tenant-local wall-clock time."""

    start_minute: int
    length_minutes: int
    night: bool


@dataclass(frozen=True, slots=True)
class Agent:
    index: int
    agent_id: str
    name: str
    group: Group
    shift: Shift
    never_logs_in: bool


@dataclass(frozen=True, slots=True)
class Code:
    """A status or wrap-up code item and the list it belongs to."""

    name: str
    item_id: str
    list_name: str
    list_id: str
    short_code: str
    text: str


STATUS_CODES: dict[str, tuple[Code, ...]] = {
    "OnBreak": (
        Code("Lunch", "1201", "Break codes", "170", "LUN", "Lunch break"),
        Code("Short Break", "1202", "Break codes", "170", "BRK", "Short break"),
    ),
    "WorkingOffline": (
        Code("Training", "1301", "Offline codes", "171", "TRN", "Training session"),
        Code("Attend Meeting", "1302", "Offline codes", "171", "MTG", "Team meeting"),
    ),
    "LoggedOut": (Code("End of shift", "1401", "Logout codes", "172", "EOS", "End of shift"),),
}
WRAP_UP_CODES: tuple[Code, ...] = (
    Code("Billing question", "1801", "Support outcomes", "180", "BILL", "Billing question resolved"),
    Code("Technical issue", "1802", "Support outcomes", "180", "TECH", "Technical issue resolved"),
    Code("Sales inquiry", "1803", "Support outcomes", "180", "SALE", "Sales inquiry answered"),
    Code("Follow up needed", "1804", "Support outcomes", "180", "FUP", "Follow up needed"),
)
OUTBOUND_PHONE_CODES: tuple[Code, ...] = (
    Code("Callback done", "1901", "Outbound codes", "190", "CBD", "Callback completed"),
    Code("No answer", "1902", "Outbound codes", "190", "NOA", "Customer did not answer"),
)

GROUPS = (
    Group("131", "Support EN Agents"),
    Group("132", "Sales Agents"),
    Group("133", "Digital Agents"),
    Group("134", "Night Shift"),
)

# Day templates (start, length) plus a night shift, so some agents are logged in at every local hour.
NIGHT_SHIFT = Shift(22 * 60, 9 * 60, night=True)
DAY_SHIFTS = (
    Shift(6 * 60, 510, night=False),
    Shift(7 * 60, 510, night=False),
    Shift(8 * 60, 510, night=False),
    Shift(9 * 60, 510, night=False),
    Shift(10 * 60, 510, night=False),
    Shift(12 * 60, 510, night=False),
    Shift(14 * 60, 510, night=False),
    Shift(16 * 60, 510, night=False),
)


class TenantWorld:
    """Static fixtures of one tenant."""

    def __init__(self, seed: int, tenant: TenantConfig) -> None:
        self.seed = seed
        self.tenant = tenant
        self.tenant_id = tenant.tenant_id
        self.tz = ZoneInfo(tenant.timezone)
        self.region_infix = {"us": "na", "ca": "na", "eu": "eu", "au": "ap"}[tenant.region]
        self.queues = self._build_queues()
        self.queues_by_id = {queue.queue_id: queue for queue in self.queues}
        self.agents = self._build_agents(tenant.agent_count)
        self.agents_by_id = {agent.agent_id: agent for agent in self.agents}
        self._on_shift: dict[int, tuple[Agent, ...]] = {}

    def _build_queues(self) -> tuple[Queue, ...]:
        rng = rng_for(self.seed, self.tenant_id, "queues")
        number = f"1800555{rng.randrange(1000, 9999)}"
        domain = f"{self.tenant_id}.example.com"
        return (
            Queue("412", "Support EN", "Phone", "InboundDir", number, "Support line"),
            Queue("413", "Sales", "Phone", "InboundDir", f"{int(number) + 1}", "Sales line"),
            Queue("414", "Billing", "Phone", "InboundDir", f"{int(number) + 2}", "Billing line"),
            Queue("415", "Chat EN", "Chat", "InboundDir", "webchat_channel1", "Web chat"),
            Queue("416", "Chat Sales", "Chat", "InboundDir", "webchat_channel2", "Sales chat"),
            Queue("417", "Email Support", "Email", "InboundDir", f"support@{domain}", "Support mailbox"),
            Queue("418", "Voicemail", "VoiceMail", "InboundDir", number, "Support line voicemail"),
            Queue("419", "Outbound Callbacks", "Phone", "OutboundDir", None, None),
            Queue("420", "Email Outbound", "Email", "OutboundDir", None, None),
            Queue("421", "Internal Helpdesk", "Phone", "InternalDir", None, None),
        )

    def _build_agents(self, count: int) -> tuple[Agent, ...]:
        rng = rng_for(self.seed, self.tenant_id, "agents")
        agents: list[Agent] = []
        used: set[str] = set()
        for index in range(count):
            agent_id = "ag" + token(rng, 22)
            while agent_id in used:
                agent_id = "ag" + token(rng, 22)
            used.add(agent_id)
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            # Agents 1 and 2 (and every 9th) work nights; the last agent never logs in, so the
            # live feed has an agent with null inputs (the import must skip and count it).
            if index in (1, 2) or index % 9 == 5:
                shift = NIGHT_SHIFT
                group = GROUPS[3]
            else:
                shift = DAY_SHIFTS[index % len(DAY_SHIFTS)]
                group = GROUPS[index % 3]
            never = count >= 8 and index == count - 1
            agents.append(Agent(index, agent_id, name, group, shift, never))
        return tuple(agents)

    def works_on(self, agent: Agent, day: date) -> bool:
        """Day-off plan: night agents always work, so every hour keeps coverage."""
        if agent.never_logs_in:
            return False
        if agent.shift.night:
            return True
        return stable_unit(self.seed, self.tenant_id, agent.agent_id, day.toordinal(), "off") >= 0.12

    def agents_for_local_minute(self, minute_of_day: int) -> tuple[Agent, ...]:
        """Agents whose shift template covers a local time of day (ignoring days off)."""
        # Asked for every offer of every interaction: 1,440 possible answers, computed once each.
        cached = self._on_shift.get(minute_of_day)
        if cached is None:
            cached = self._on_shift[minute_of_day] = self._agents_for_local_minute(minute_of_day)
        return cached

    def pick_agent(self, minute_of_day: int, pick: float, exclude: Agent | None = None) -> Agent:
        """``pool[int(pick * len(pool)) % len(pool)]`` of the agents on shift without ``exclude``
        (all agents if that leaves nobody)."""
        on = self.agents_for_local_minute(minute_of_day)
        skip = -1
        if exclude is not None:
            for position, agent in enumerate(on):
                if agent is exclude:
                    skip = position
                    break
        if skip < 0:
            size = len(on)
            return on[int(pick * size) % size]
        size = len(on) - 1
        if size == 0:
            size = len(self.agents)
            return self.agents[int(pick * size) % size]
        index = int(pick * size) % size
        return on[index] if index < skip else on[index + 1]

    def _agents_for_local_minute(self, minute_of_day: int) -> tuple[Agent, ...]:
        on: list[Agent] = []
        for agent in self.agents:
            if agent.never_logs_in:
                continue
            start, length = agent.shift.start_minute, agent.shift.length_minutes
            if (minute_of_day - start) % 1440 < length:
                on.append(agent)
        return tuple(on) or tuple(a for a in self.agents if not a.never_logs_in) or self.agents
