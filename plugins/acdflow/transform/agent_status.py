"""Agent status: historical status-change rows → events, and live ``/agents`` snapshots.

The status-name and live-status rules are the product's (docs/8x8-api-notes.md, “Product rules
acdflow reproduces” and “Live status: realtime `/agents`”); the report's fields are described under
“The two report types and the fields requested”. Pure functions of data. The historical intervals
(each status lasts until the agent's next one) are built in the warehouse only, by
``include/sql/agent_status/load.sql`` and ``load.relink.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from acdflow.timewindow import TimestampError, parse_api_timestamp
from acdflow.transform.rows import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_STATUS_CHARS,
    RejectedRow,
    RowRejected,
    RowShapeError,
    TimeBounds,
    bounded_text,
    kind_of,
    metrics_to_dict,
    optional_timestamp,
    required_timestamp,
    row_to_dict,
    short_repr,
)

__all__ = [
    "TIME_AROUND_WINDOW",
    "LiveSkip",
    "LiveStatus",
    "StatusEvent",
    "StatusEventBatch",
    "live_status_from_agent",
    "live_statuses",
    "status_name",
    "transform_status_events",
]


def status_name(status: str, status_code: str | None) -> str:
    """WFM status name, exactly the product's rule: ``"OnBreak (Lunch)"``; never a code on ``LoggedOut``.

    ``status`` is kept as received (8x8 does not document its casing); ``LoggedOut`` is recognised
    case-insensitively; a blank code counts as no code.
    """
    if status_code and status_code.strip() and status.lower() != "loggedout":
        return f"{status} ({status_code})"
    return status


# ---- historical events --------------------------------------------------------------

# How far from the report window a status-change time may lie. Wide on purpose: a tenant that
# writes local time with a wrong offset shifts times by up to 14 hours, and the time-drift checks
# must see those events loaded to report the drift.
TIME_AROUND_WINDOW = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One row of ``detailed-reports-agent-status-change``: the agent entered ``status`` at ``time``."""

    agent_id: str
    agent_name: str | None
    status: str  # as received: 8x8 does not document its casing
    status_code: str | None
    time: datetime  # aware UTC
    observed_offset_minutes: int  # offset 8x8 wrote on `time`, for time-drift checks

    @property
    def key(self) -> tuple[str, datetime, str]:
        """Identity of an event: ``(agentId, time, status)``, status compared case-insensitively."""
        return (self.agent_id, self.time, self.status.lower())


@dataclass(frozen=True, slots=True)
class StatusEventBatch:
    """Every input row is in exactly one of ``events``, ``rejected`` or ``duplicates``."""

    events: list[StatusEvent]
    rejected: list[RejectedRow]
    duplicates: int = 0


def _required_text(fields: Mapping[str, Any], key: str, limit: int) -> str:
    if key not in fields:
        raise RowRejected(f"missing key {key}")
    value = fields[key]
    if value is None:
        raise RowRejected(f"{key} is null")
    if type(value) is not str:
        raise RowRejected(f"{key} is not a string (got {kind_of(value)})")
    if not value.strip():
        raise RowRejected(f"{key} is blank")
    return bounded_text(value, key, limit)


def _optional_text(value: Any, key: str, limit: int) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return bounded_text(value, key, limit)
    raise RowRejected(f"{key} is not a string (got {kind_of(value)})")


def _event_from_fields(fields: Mapping[str, Any], bounds: TimeBounds | None) -> StatusEvent:
    agent_id = _required_text(fields, "agentId", MAX_ID_CHARS)
    time, offset = required_timestamp(fields, "time")
    if bounds is not None:
        bounds.check(time, "time")
    status = _required_text(fields, "status", MAX_STATUS_CHARS)
    return StatusEvent(
        agent_id=agent_id,
        agent_name=_optional_text(fields.get("agent"), "agent", MAX_NAME_CHARS),
        status=status,
        status_code=_optional_text(fields.get("statusCode"), "statusCode", MAX_STATUS_CHARS),
        time=time,
        observed_offset_minutes=offset,
    )


def _status_rejection(
    row: Any, fields: Mapping[str, Any] | None, reason: str, bounds: TimeBounds | None
) -> RejectedRow:
    agent_id = fields.get("agentId") if fields is not None else None
    record_time = None
    if fields is not None:
        try:
            record_time = parse_api_timestamp(fields.get("time"))  # type: ignore[arg-type]
        except TimestampError:
            record_time = None
    if record_time is not None and bounds is not None and not bounds.contains(record_time):
        record_time = None  # no interval to file it under
    usable_id = type(agent_id) is str and 0 < len(agent_id) <= MAX_ID_CHARS
    return RejectedRow(
        raw=row,
        reason=reason,
        agent_id=agent_id if usable_id else None,
        record_time=record_time,
    )


def transform_status_events(
    rows: Iterable[Any], *, window_start: datetime | None = None, window_end: datetime | None = None
) -> StatusEventBatch:
    """Status-change rows → :class:`StatusEvent` (aware UTC), in input order.

    Requires ``agentId``, ``status`` (non-blank strings) and ``time`` (with an offset); ``agent`` and
    ``statusCode`` are optional strings. Rows repeating an earlier ``(agentId, time, status)`` (status
    case-insensitive) are duplicates by definition — typical of the 30-minute overlap of
    consecutive runs — and are counted, the first copy kept. Never raises for bad row content.
    Texts must fit an index (``agentId`` ≤ ``MAX_ID_CHARS``, ``agent`` ≤ ``MAX_NAME_CHARS``,
    ``status``/``statusCode`` ≤ ``MAX_STATUS_CHARS`` characters); given the report window
    (aware), ``time`` must lie within :data:`TIME_AROUND_WINDOW` of it.
    """
    bounds = TimeBounds.around(window_start, window_end, TIME_AROUND_WINDOW, TIME_AROUND_WINDOW)
    events: list[StatusEvent] = []
    rejected: list[RejectedRow] = []
    duplicates = 0
    seen: set[tuple[str, datetime, str]] = set()
    for row in rows:
        try:
            fields = row_to_dict(row)
        except RowShapeError as exc:
            rejected.append(_status_rejection(row, None, str(exc), bounds))
            continue
        try:
            event = _event_from_fields(fields, bounds)
        except RowRejected as exc:
            rejected.append(_status_rejection(row, fields, exc.reason, bounds))
            continue
        key = event.key
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        events.append(event)
    return StatusEventBatch(events=events, rejected=rejected, duplicates=duplicates)


# ---- live (realtime /agents) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """An agent's current status from one ``/agents`` snapshot; ``end_time`` None = ongoing."""

    agent_id: str
    agent_name: str | None
    status: str
    status_code: str | None
    status_name: str
    start_time: datetime
    end_time: datetime | None
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSkip:
    """An ``/agents`` element that yields no live status, and why (it is skipped and logged)."""

    agent_id: str | None
    reason: str


# Realtime durations are at most a few days; 15 digits (over 31 000 years) bounds the text int()
# reads, which would refuse a number literal of thousands of digits with an error of its own.
_MAX_MS_DIGITS = 15


def _metric_ms(metrics: Mapping[str, Any], key: str) -> int:
    value = metrics.get(key)
    if value is None:
        raise RowRejected(f"{key} is missing or null")
    kind = type(value)
    if (
        kind is int
        or (kind is float and value.is_integer())
        or (kind is str and value.isascii() and value.isdigit() and len(value) <= _MAX_MS_DIGITS)
    ):
        ms = int(value)
    else:
        raise RowRejected(f"{key} is not a whole number of milliseconds ({short_repr(value)})")
    if ms < 0:
        raise RowRejected(f"{key} is negative ({ms})")
    return ms


def _metric_time(metrics: Mapping[str, Any], key: str) -> datetime:
    value = optional_timestamp(metrics.get(key), key)
    if value is None:
        raise RowRejected(f"{key} is missing or null")
    return value


def live_status_from_agent(agent: Mapping[str, Any], observed_at: datetime) -> LiveStatus | LiveSkip:
    """Live status of one ``/agents`` element per the product's rules, or :class:`LiveSkip` and why.

    start = ``lastLogin.rt`` + ``loggedInTime.rt`` − ``timeOnStatus.rt`` (integer milliseconds, exact);
    for ``LoggedOut`` (case-insensitive) start = end = ``lastLogout.rt``. Otherwise the status is open
    (``end_time=None``: the product gives only a start). Missing/null inputs, the ``includeTotals``
    element (``id`` null) and malformed elements are skipped, never raised. ``observed_at`` (the poll
    time, aware) is stored so consumers can tell how fresh the snapshot was.
    """
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        raise ValueError(f"observed_at must be aware, got {observed_at.isoformat()}")
    observed = observed_at.astimezone(UTC)
    element: object = agent  # typed Mapping, but a page is parsed JSON and may hold anything
    if not isinstance(element, Mapping):
        return LiveSkip(None, f"agent element is not an object (got {kind_of(agent)})")
    agent_id = agent.get("id")
    if agent_id is None:
        return LiveSkip(None, "totals element or agent without id")
    if type(agent_id) is not str or not agent_id.strip():
        return LiveSkip(None, f"agent id is not a non-empty string ({short_repr(agent_id)})")
    name = agent.get("name")
    try:
        if name is not None and type(name) is not str:
            raise RowRejected(f"name is not a string (got {kind_of(name)})")
        metrics = metrics_to_dict(agent.get("metrics"))
        status = metrics.get("status.rt")
        if type(status) is not str or not status.strip():
            raise RowRejected(f"status.rt is missing or not a non-empty string ({short_repr(status)})")
        code = metrics.get("statusCode.rt")
        if code is not None and type(code) is not str:
            raise RowRejected(f"statusCode.rt is not a string (got {kind_of(code)})")
        end: datetime | None
        if status.lower() == "loggedout":
            start = end = _metric_time(metrics, "lastLogout.rt")
        else:
            last_login = _metric_time(metrics, "lastLogin.rt")
            delta = _metric_ms(metrics, "loggedInTime.rt") - _metric_ms(metrics, "timeOnStatus.rt")
            try:
                start = last_login + timedelta(milliseconds=delta)
            except OverflowError:
                raise RowRejected("status start is out of the datetime range") from None
            end = None
    except (RowRejected, RowShapeError) as exc:
        return LiveSkip(agent_id, exc.reason if isinstance(exc, RowRejected) else str(exc))
    return LiveStatus(
        agent_id=agent_id,
        agent_name=name,
        status=status,
        status_code=code,
        status_name=status_name(status, code),
        start_time=start,
        end_time=end,
        observed_at=observed,
    )


def live_statuses(agents: Iterable[Any], observed_at: datetime) -> tuple[list[LiveStatus], list[LiveSkip]]:
    """:func:`live_status_from_agent` over one (or several concatenated) ``/agents`` pages."""
    statuses: list[LiveStatus] = []
    skipped: list[LiveSkip] = []
    for agent in agents:
        result = live_status_from_agent(agent, observed_at)
        if isinstance(result, LiveStatus):
            statuses.append(result)
        else:
            skipped.append(result)
    return statuses, skipped
