"""Realtime ``GET …/realtime-metrics/agents`` (docs/8x8-api-notes.md, “Live status: realtime `/agents`”).

Every value is derived from the agent status-event log at the simulator clock, so live data never
contradicts the historical report. Period metrics (``.int-15m``, ``.int-30m``, ``.today``) come from
the live-state segments of the period; metrics the event log cannot produce (conferences, transfers,
direct/internal calls) are 0. ``activeChannels.rt``/``activeDirections.rt``/``activeQueues.rt``
(shape undocumented) are lists of strings. The ``includeTotals`` element is appended to every page and
not counted in ``X-Total-Elements``; totals are sums, except averages/percentages (mean) and
``longest*`` (max).
"""

from __future__ import annotations

import math
from typing import Any

from acdflow_dev.sim.agentstatus import LiveState, Segment, StatusEvent
from acdflow_dev.sim.catalog import (
    REALTIME_AGENT_METRIC_SET,
    REALTIME_AGENT_METRICS,
    REALTIME_NON_NUMERIC,
    REALTIME_PERIOD_METRIC_NAMES,
)
from acdflow_dev.sim.errors import ApiError, bad_request
from acdflow_dev.sim.tenant import TenantState
from acdflow_dev.sim.timefmt import format_utc_z, local_date, local_wall_to_ms, zone
from acdflow_dev.sim.world import Agent

_BUSY = ("Offering", "Handling", "WrapUp")
_TIME_STATES = {
    "availableTime": ("Available",),
    "busyTime": _BUSY,
    "handlingTime": ("Handling",),
    "offeringTime": ("Offering",),
    "onBreakTime": ("OnBreak",),
    "workingOfflineTime": ("WorkingOffline",),
    "wrapUpTime": ("WrapUp",),
    "loggedInTime": ("Available", "Offering", "Handling", "WrapUp", "OnBreak", "WorkingOffline"),
}


def _multi(params: dict[str, list[str]], name: str) -> list[str]:
    """Both ``x=a&x=b`` and ``x=a,b`` (and mixes), as 8x8 accepts."""
    out: list[str] = []
    for value in params.get(name, []):
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _bool_param(params: dict[str, list[str]], name: str) -> bool:
    values = params.get(name)
    if not values:
        return False
    value = values[-1].strip().lower()
    if value not in ("true", "false"):
        raise bad_request(f"Field '{name}' must be a boolean")
    return value == "true"


def int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise bad_request(f"Field '{name}' must be a number") from None


def _period_values(
    segments: list[Segment], events: list[StatusEvent], start: int, end: int
) -> dict[str, float]:
    clipped = [
        (s.state, max(s.start_ms, start), min(s.end_ms, end))
        for s in segments
        if s.end_ms > start and s.start_ms < end
    ]
    values: dict[str, float] = dict.fromkeys(REALTIME_PERIOD_METRIC_NAMES, 0)
    for metric, states in _TIME_STATES.items():
        values[metric] = sum(b - a for state, a, b in clipped if state in states)
    inside = [e for e in events if start <= e.time_ms <= end and not e.duplicate]
    values["offered"] = sum(1 for e in inside if e.status == "Offered")
    values["accepted"] = sum(1 for e in inside if e.status == "Accepted")
    values["rejected"] = sum(1 for e in inside if e.status == "Rejected")
    values["rejectTimeout"] = sum(1 for e in inside if e.status == "Timeout")
    holds: list[int] = []
    hold_start: int | None = None
    for event in inside:
        if event.status == "PutOnHold":
            hold_start = event.time_ms
        elif event.status == "HoldResumed" and hold_start is not None:
            holds.append(event.time_ms - hold_start)
            hold_start = None
    values["hold"] = len(holds)
    values["onHoldTime"] = sum(holds)
    values["longestHold"] = max(holds, default=0)
    offers = [b - a for state, a, b in clipped if state == "Offering"]
    values["longestOffering"] = max(offers, default=0)
    values["averageHandlingTime"] = _avg(values["handlingTime"], values["accepted"])
    values["averageOfferingTime"] = _avg(values["offeringTime"], values["offered"])
    values["averageWrapUpTime"] = _avg(values["wrapUpTime"], values["accepted"])
    values["averageHoldTime"] = _avg(values["onHoldTime"], values["hold"])
    logged = values["loggedInTime"]
    for name in ("available", "busy", "handling", "onBreak", "workingOffline", "wrapUp"):
        values[f"{name}TimePercentage"] = round(values[f"{name}Time"] / logged, 4) if logged else 0.0
    return values


def _avg(total: float, count: float) -> float:
    return round(total / count, 1) if count else 0


def agent_metrics(tenant: TenantState, agent: Agent, now_ms: int, tz_name: str) -> dict[str, Any]:
    """All 144 metric values of one agent at ``now_ms``."""
    log = tenant.status_log
    live: LiveState | None = log.live_state(agent, now_ms)
    tz = zone(tz_name)
    midnight = local_wall_to_ms(local_date(now_ms, tz), 0, tz)
    earliest = min(midnight, now_ms - 30 * 60_000)
    segments, events = log.segments(agent, earliest, now_ms)
    values: dict[str, Any] = {}
    for period, start in (
        ("int-15m", now_ms - 15 * 60_000),
        ("int-30m", now_ms - 30 * 60_000),
        ("today", midnight),
    ):
        for name, value in _period_values(segments, events, start, now_ms).items():
            values[f"{name}.{period}"] = value
    if live is None:
        values.update(
            {
                "status.rt": "LoggedOut", "statusCode.rt": None, "timeOnStatus.rt": None,
                "timeOnStatusCode.rt": None, "lastLogin.rt": None, "lastLogout.rt": None,
                "loggedInTime.rt": None, "lastStatusChange.rt": None, "lastStatusCodeChange.rt": None,
                "line1Status.rt": "Idle", "line1TimeOnStatus.rt": None, "line2Status.rt": "Idle",
                "line2TimeOnStatus.rt": None, "activeInteractionsCount.rt": 0, "alerting.rt": 0,
                "activeChannels.rt": [], "activeDirections.rt": [], "activeQueues.rt": [],
            }
        )  # fmt: skip
        return values
    on_status = now_ms - live.status_since_ms
    active = live.status in _BUSY
    values.update(
        {
            "status.rt": live.status,
            "statusCode.rt": live.code.name if live.code else None,
            "timeOnStatus.rt": on_status,
            "timeOnStatusCode.rt": now_ms - live.code_since_ms,
            "lastLogin.rt": format_utc_z(live.last_login_ms),
            "lastLogout.rt": None if live.last_logout_ms is None else format_utc_z(live.last_logout_ms),
            "loggedInTime.rt": now_ms - live.last_login_ms if live.logged_in else 0,
            "lastStatusChange.rt": format_utc_z(live.status_since_ms),
            "lastStatusCodeChange.rt": format_utc_z(live.code_since_ms),
            "line1Status.rt": "Busy" if live.status in ("Offering", "Handling") else "Idle",
            "line1TimeOnStatus.rt": on_status,
            "line2Status.rt": "Idle",
            "line2TimeOnStatus.rt": on_status,
            "activeInteractionsCount.rt": 1 if active else 0,
            "alerting.rt": 1 if live.status == "Offering" else 0,
            "activeChannels.rt": ["Phone"] if active else [],
            "activeDirections.rt": ["InboundDir"] if active else [],
            "activeQueues.rt": [],
        }
    )
    return values


def _total(metric: str, values: list[Any]) -> float | int:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        return 0
    name = metric.split(".")[0]
    if name.startswith("longest"):
        return max(numbers)
    if name.startswith("average") or name.endswith("Percentage"):
        return round(sum(numbers) / len(numbers), 4)
    return sum(numbers)


def agents_response(
    tenant: TenantState, params: dict[str, list[str]], now_ms: int, *, metrics_required: bool
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    size = int_param(params, "size", 100)
    if size > 1000:
        raise bad_request("Field 'size' must be less than or equal to 1000")
    if size < 1:
        raise bad_request("Field 'size' must be greater than or equal to 1")
    page = int_param(params, "page", 0)
    summary = _bool_param(params, "summary")
    include_totals = _bool_param(params, "includeTotals")
    tz_name = (params.get("timezone") or [tenant.config.timezone])[-1]
    if tz_name not in tenant.config.allowed_timezones:
        raise bad_request(f"Timezone '{tz_name}' is not configured for this tenant")
    agents = sorted(tenant.world.agents, key=lambda a: a.agent_id)
    metrics: list[str] = []
    if not summary:
        agent_ids = _multi(params, "agent-ids")
        unknown = [a for a in agent_ids if a not in tenant.world.agents_by_id]
        if unknown:
            raise bad_request("Invalid agent-ids")
        if agent_ids:
            agents = [a for a in agents if a.agent_id in set(agent_ids)]
        group_ids = _multi(params, "group-ids")
        if group_ids:
            agents = [a for a in agents if a.group.group_id in set(group_ids)]
        metrics = list(dict.fromkeys(_multi(params, "metrics")))
        for metric in metrics:
            if metric not in REALTIME_AGENT_METRIC_SET:
                raise bad_request(f"Unknown metric {metric}")
        if not metrics:
            if metrics_required:
                raise bad_request("Field 'metrics' is required unless summary is true")
            metrics = list(REALTIME_AGENT_METRICS)
        metrics.sort()
    total = len(agents)
    total_pages = math.ceil(total / size)
    if page < 0 or (page >= total_pages and not (total_pages == 0 and page == 0)):
        raise ApiError(
            400,
            "Bad request: Field 'page' must be greater than or equal to 0 and less than the total number of "
            f"pages, which is {total_pages} for this request",
        )
    headers = {
        "X-Page": str(page),
        "X-Page-Size": str(size),
        "X-Total-Pages": str(total_pages),
        "X-Total-Elements": str(total),
    }
    chosen = agents[page * size : (page + 1) * size]
    body: list[dict[str, Any]] = []
    if summary:
        for agent in chosen:
            body.append(
                {"id": agent.agent_id, "name": agent.name, "groupId": agent.group.group_id,
                 "groupName": agent.group.name}
            )  # fmt: skip
        return body, headers
    for agent in chosen:
        values = agent_metrics(tenant, agent, now_ms, tz_name)
        body.append(
            {
                "id": agent.agent_id,
                "name": agent.name,
                "groupId": agent.group.group_id,
                "groupName": agent.group.name,
                "metrics": [{"key": m, "value": values[m]} for m in metrics],
            }
        )
    if include_totals:
        every = [agent_metrics(tenant, agent, now_ms, tz_name) for agent in agents]
        numeric = [m for m in metrics if m not in REALTIME_NON_NUMERIC]
        body.append(
            {
                "id": None,
                "name": "totals",
                "metrics": [
                    {"key": f"total.{m}", "value": _total(m, [v[m] for v in every])} for m in numeric
                ],
            }
        )
    return body, headers
