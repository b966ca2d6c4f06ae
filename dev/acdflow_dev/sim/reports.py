"""Historical reports: detailed reports (contract 7, 17.5, 17.6) and the summary flow (10, H5-H10).

A detailed report is materialised at creation as an immutable snapshot (the records, their
malformation and the instant they are viewed at); pages are rendered from it on demand, so the same
cursor always returns the same rows. Reports are kept ``report_retention_hours`` of simulator time.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from acdflow_dev.sim.agentstatus import LIVE_MAP, StatusEvent
from acdflow_dev.sim.catalog import (
    AGENT_STATUS_FIELD_MAP,
    AGENT_STATUS_FIELDS,
    AGENT_STATUS_TYPE,
    DETAILED_TYPES,
    FIELDS_BY_TYPE,
    INTERACTION_FIELDS,
    INTERACTION_TYPE,
    SCRIPT_PATHS_COLUMNS,
    SCRIPT_PATHS_TYPE,
    SUMMARY_TYPES,
)
from acdflow_dev.sim.clock import from_ms, to_ms
from acdflow_dev.sim.errors import ApiError, bad_request
from acdflow_dev.sim.faults import FaultInjector
from acdflow_dev.sim.interactions import Interaction
from acdflow_dev.sim.render import (
    RenderOptions,
    agent_status_values,
    interaction_values,
    render_row,
    stringify,
)
from acdflow_dev.sim.search import SearchError, compile_filters, matches
from acdflow_dev.sim.tenant import TenantState
from acdflow_dev.sim.timefmt import (
    format_minute_ts,
    local_ms_of_day,
    parse_date_range_value,
    parse_time_of_day,
    zone,
)

TITLE_RE = re.compile(r"^[A-Za-z0-9\s!\-_.*'()]+$")
TITLE_MAX = 255
MIN_INTRADAY_DETAILED_MS = 5 * 60_000
MIN_INTRADAY_SUMMARY_MS = 15 * 60_000
SUMMARY_JSON_CAP = 10_000
DAY_MS = 86_400_000

Record = Interaction | StatusEvent


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int
    tz: ZoneInfo
    tz_name: str
    intraday: tuple[int, int] | None


@dataclass(frozen=True)
class RowRef:
    time_ms: int
    seq: int
    record: Record
    malformation: str | None


@dataclass
class DetailedReport:
    report_id: int
    tenant_id: str
    report_type: str
    status: str
    reason: str | None
    created_ms: int
    as_of_ms: int
    keys: list[str]
    include_participants: bool
    opts: RenderOptions | None
    rows: list[RowRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sort_keys = [(-r.time_ms, r.seq) for r in self.rows]

    @property
    def total(self) -> int:
        return len(self.rows)

    def start_index(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        epoch_ms, seq = decode_cursor(cursor)
        return bisect_right(self._sort_keys, (-epoch_ms, seq))

    def render(self, refs: list[RowRef]) -> list[dict[str, object]]:
        assert self.opts is not None
        out: list[dict[str, object]] = []
        field_map = FIELDS_BY_TYPE[self.report_type]
        for ref in refs:
            record = ref.record
            if isinstance(record, Interaction):
                values = interaction_values(record, self.as_of_ms, self.opts)
            else:
                values = agent_status_values(record, self.opts)
            out.append(
                render_row(
                    values,
                    self.keys,
                    field_map,
                    self.opts,
                    include_participants=self.include_participants,
                    malformation=ref.malformation,
                )
            )
        return out


def encode_cursor(epoch_ms: int, seq: int) -> str:
    payload = json.dumps({"searchAfter": [epoch_ms, seq]}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def decode_cursor(raw: str) -> tuple[int, int]:
    """Accepts the cursor raw, percent-encoded (once or twice), or with ``+`` turned into spaces."""
    candidates = [raw, unquote(raw), unquote(unquote(raw))]
    for candidate in candidates:
        text = candidate.strip().replace(" ", "+")
        text += "=" * (-len(text) % 4)
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = json.loads(decoder(text.encode()))
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
            after = decoded.get("searchAfter") if isinstance(decoded, dict) else None
            if (
                isinstance(after, list)
                and len(after) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in after)
            ):
                return after[0], after[1]
    raise bad_request("Invalid lastDocumentId")


# -- request validation -------------------------------------------------------------------------------


def _parse_window(
    body: dict[str, Any],
    tenant: TenantState,
    *,
    quirk: bool,
    min_intraday_ms: int,
    require_tz: bool = False,
    honor_timezone: bool = True,
) -> Window:
    tz_name = body.get("timezone")
    if tz_name is None:
        if require_tz:
            raise bad_request("Field 'timezone' is required")
        tz_name = tenant.config.timezone
    if not isinstance(tz_name, str) or tz_name not in tenant.config.allowed_timezones:
        raise bad_request(f"Timezone '{tz_name}' is not configured for this tenant")
    if not honor_timezone:
        # Switch ignore_report_timezone: a tenant that reads and writes its default zone whatever
        # the request says, so returned offsets disagree with the zone the client configured.
        tz_name = tenant.config.timezone
    tz = zone(tz_name)
    date_range = body.get("dateRange")
    if not isinstance(date_range, dict):
        raise bad_request("Field 'dateRange' is required")
    bounds: list[int] = []
    for name in ("start", "end"):
        value = date_range.get(name)
        if value is None:
            raise bad_request(f"Field 'dateRange.{name}' is required")
        try:
            bounds.append(parse_date_range_value(value, tz, quirk=quirk))
        except (ValueError, TypeError, OverflowError):
            raise bad_request(f"Field 'dateRange.{name}' is not a valid date-time") from None
    if bounds[1] < bounds[0]:
        raise bad_request("dateRange.end must not be before dateRange.start")
    intraday: tuple[int, int] | None = None
    raw_intraday = body.get("intraDayTimeRange")
    if raw_intraday is not None:
        if not isinstance(raw_intraday, dict) or ("start" in raw_intraday) != ("end" in raw_intraday):
            raise bad_request("intraDayTimeRange needs both start and end")
        if raw_intraday:
            try:
                a = parse_time_of_day(raw_intraday["start"])
                b = parse_time_of_day(raw_intraday["end"])
            except (ValueError, TypeError):
                raise bad_request("intraDayTimeRange values must be hh:mm:ss or hh:mm:ss.SSS") from None
            span = (b - a) % DAY_MS
            if span < min_intraday_ms:
                minutes = min_intraday_ms // 60_000
                raise bad_request(f"intraDayTimeRange.end must be at least {minutes} minutes after start")
            intraday = (a, b)
    return Window(bounds[0], bounds[1], tz, tz_name, intraday)


def _in_intraday(ms: int, window: Window) -> bool:
    if window.intraday is None:
        return True
    a, b = window.intraday
    tod = local_ms_of_day(ms, window.tz)
    return a <= tod <= b if a <= b else (tod >= a or tod <= b)


def _validate_title(body: dict[str, Any]) -> str:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad_request("Field 'title' is required")
    if not TITLE_RE.match(title):
        raise bad_request("Field 'title' contains characters that are not allowed")
    if len(title) > TITLE_MAX:
        raise bad_request(f"Field 'title' must be at most {TITLE_MAX} characters")
    return title


def _metrics(body: dict[str, Any], report_type: str) -> list[str]:
    fields = FIELDS_BY_TYPE[report_type]
    raw = body.get("metrics")
    if raw is None or raw == []:
        return list(fields)
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        raise bad_request("Field 'metrics' must be an array of strings")
    for metric in raw:
        if metric not in fields:
            raise bad_request(f"Unknown metric '{metric}' for report type {report_type}")
    return list(dict.fromkeys(raw))


def _bool(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise bad_request(f"Field '{name}' must be a boolean")
    return value


def select_records(
    tenant: TenantState,
    report_type: str,
    window: Window,
    *,
    now_ms: int,
    show_ongoing: bool,
    state_in_time: bool,
) -> tuple[list[Record], int]:
    """Records of the window that exist at ``now_ms`` and the instant they are viewed at."""
    upper = min(window.end_ms, now_ms)
    if report_type == INTERACTION_TYPE:
        as_of = min(now_ms, window.end_ms) if (show_ongoing and state_in_time) else now_ms
        found: list[Record] = []
        for ix in tenant.interactions.created_between(window.start_ms, upper):
            if not _in_intraday(ix.time_ms, window):
                continue
            if ix.finished_ms > as_of and not show_ongoing:
                continue
            found.append(ix)
        return found, as_of
    events = tenant.status_log.events_between(window.start_ms, upper)
    return [e for e in events if _in_intraday(e.time_ms, window)], now_ms


def create_detailed(
    tenant: TenantState,
    body: Any,
    *,
    report_id: int,
    now_ms: int,
    quirk: bool,
    faults: FaultInjector,
    seed: int,
    legacy_durations: bool,
    status_case: str,
    honor_timezone: bool = True,
) -> DetailedReport:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    report_type = body.get("type")
    if report_type not in DETAILED_TYPES:
        raise bad_request(f"Field 'type' must be one of {', '.join(DETAILED_TYPES)}")
    _validate_title(body)
    window = _parse_window(
        body, tenant, quirk=quirk, min_intraday_ms=MIN_INTRADAY_DETAILED_MS, honor_timezone=honor_timezone
    )
    keys = _metrics(body, report_type)
    try:
        filters = compile_filters(body.get("searchQuery"), FIELDS_BY_TYPE[report_type])
    except SearchError as exc:
        raise bad_request(str(exc)) from None
    include_participants = _bool(body, "includeParticipants")
    if include_participants and report_type != INTERACTION_TYPE:
        raise bad_request(f"includeParticipants is only valid for {INTERACTION_TYPE}")
    settings = body.get("reportSettings") or {}
    if not isinstance(settings, dict):
        raise bad_request("Field 'reportSettings' must be an object")
    show_ongoing = _bool(settings, "showOngoingInteractions")
    state_in_time = _bool(settings, "showInteractionsStateInTime")
    opts = RenderOptions(window.tz, legacy_durations, status_case, seed)
    if faults.take_failed_report():
        return DetailedReport(
            report_id, tenant.tenant_id, report_type, "FAILED", "Report generation failed", now_ms, now_ms,
            keys, include_participants, opts,
        )  # fmt: skip
    records, as_of = select_records(
        tenant, report_type, window, now_ms=now_ms, show_ongoing=show_ongoing, state_in_time=state_in_time
    )
    refs: list[RowRef] = []
    for record in records:
        if filters:
            if isinstance(record, Interaction):
                values = interaction_values(record, as_of, opts)
            else:
                values = agent_status_values(record, opts)
            if not matches(filters, values):
                continue
        if isinstance(record, Interaction):
            bad = faults.interaction_malformation(record.interaction_id) if record.importable_shape else None
        else:
            bad = faults.agent_malformation(record.key)
        refs.append(RowRef(record.time_ms, record.seq, record, bad))
    refs.sort(key=lambda r: (-r.time_ms, r.seq))
    return DetailedReport(
        report_id,
        tenant.tenant_id,
        report_type,
        "DONE",
        None,
        now_ms,
        as_of,
        keys,
        include_participants,
        opts,
        refs,
    )


# -- summary flow ------------------------------------------------------------------------------------

GRANULARITIES = ("15m", "30m", "hour", "day", "week", "month", "year", "none")


def _label(key: str) -> str:
    words = re.sub(r"([A-Z])", r" \1", key).split()
    return " ".join(w[:1].upper() + w[1:] for w in words)


@dataclass
class SummaryReport:
    report_id: int
    tenant_id: str
    report_type: str
    title: str
    definition: dict[str, Any]
    created_ms: int
    will_fail: bool
    columns: list[tuple[str, str]]
    rows: list[list[str | None]]
    totals: list[dict[str, Any] | None]
    polls: int = 0
    status: str = "IN_PROGRESS"

    def poll(self, polls_to_done: int) -> str:
        self.polls += 1
        if self.status == "IN_PROGRESS" and self.polls > polls_to_done:
            self.status = "FAILED" if self.will_fail else "DONE"
        return self.status

    def json_rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for row, total in zip(self.rows, self.totals, strict=True):
            items = [
                {"key": k, "label": lbl, "value": v} for (k, lbl), v in zip(self.columns, row, strict=True)
            ]
            out.append({"total": total, "items": items})
        return out

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([label for _, label in self.columns])
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in row])
        return buffer.getvalue()


def _buckets(window: Window, granularity: str) -> list[tuple[int, int]]:
    """Report-zone buckets covering the window (local calendar arithmetic for day and above)."""
    if granularity == "none":
        return [(window.start_ms, window.end_ms + 1)]
    tz = window.tz
    out: list[tuple[int, int]] = []
    local = from_ms(window.start_ms).astimezone(tz)
    if granularity in ("15m", "30m", "hour"):
        step = {"15m": 15, "30m": 30, "hour": 60}[granularity]
        start = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
        cursor = to_ms(start)
        while cursor <= window.end_ms:
            out.append((cursor, cursor + step * 60_000))
            cursor += step * 60_000
        return out
    day = local.replace(hour=0, minute=0, second=0, microsecond=0).replace(tzinfo=None)
    if granularity == "week":
        day -= timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    elif granularity == "year":
        day = day.replace(month=1, day=1)
    while True:
        start_ms = to_ms(day.replace(tzinfo=tz))
        if start_ms > window.end_ms:
            break
        if granularity == "day":
            nxt = day + timedelta(days=1)
        elif granularity == "week":
            nxt = day + timedelta(days=7)
        elif granularity == "month":
            nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            nxt = day.replace(year=day.year + 1)
        out.append((start_ms, to_ms(nxt.replace(tzinfo=tz))))
        day = nxt
    return out


def _allowed_granularities(span_ms: int) -> tuple[str, ...]:
    if span_ms <= 7 * DAY_MS:
        return ("15m", "30m", "hour", "day", "none")
    if span_ms <= 31 * DAY_MS:
        return ("none", "hour", "day", "week")
    return ("none", "month", "year")


def create_summary(
    tenant: TenantState,
    body: Any,
    *,
    report_id: int,
    now_ms: int,
    quirk: bool,
    faults: FaultInjector,
    seed: int,
    status_case: str,
) -> SummaryReport:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    report_type = body.get("type")
    known = (*SUMMARY_TYPES, *DETAILED_TYPES, SCRIPT_PATHS_TYPE)
    if report_type not in known:
        raise bad_request(f"Unknown report type '{report_type}'")
    title = _validate_title(body)
    if report_type == SCRIPT_PATHS_TYPE:
        forbidden = [k for k in ("groupBy", "granularity", "metrics", "includeSubTotal", "includeGrandTotal",
                                 "includeParticipants") if k in body]  # fmt: skip
        if forbidden:
            raise bad_request(f"Field '{forbidden[0]}' is not allowed for script-paths reports")
    window = _parse_window(
        body,
        tenant,
        quirk=quirk,
        min_intraday_ms=MIN_INTRADAY_SUMMARY_MS,
        require_tz=report_type == SCRIPT_PATHS_TYPE,
    )
    granularity = body.get("granularity")
    if report_type in SUMMARY_TYPES:
        if granularity not in GRANULARITIES:
            raise bad_request(f"Field 'granularity' must be one of {', '.join(GRANULARITIES)}")
        allowed = _allowed_granularities(window.end_ms - window.start_ms)
        if granularity not in allowed:
            raise bad_request(f"Granularity '{granularity}' is not allowed for this dateRange")
    elif granularity is not None and granularity not in GRANULARITIES:
        raise bad_request(f"Field 'granularity' must be one of {', '.join(GRANULARITIES)}")
    opts = RenderOptions(window.tz, False, status_case, seed)
    include_grand_total = _bool(body, "includeGrandTotal")
    _bool(body, "includeSubTotal")
    columns, rows, totals = _summary_rows(
        tenant, body, report_type, window, str(granularity or "none"), now_ms, opts, include_grand_total
    )
    definition = {
        "dateRange": body.get("dateRange"),
        "intraDayTimeRange": body.get("intraDayTimeRange"),
        "granularity": granularity,
        "groupBy": body.get("groupBy"),
        "metrics": body.get("metrics") or [],
        "timezone": window.tz_name,
        "includeSubTotal": _bool(body, "includeSubTotal"),
        "includeGrandTotal": include_grand_total,
        "title": title,
        "type": report_type,
    }
    return SummaryReport(
        report_id, tenant.tenant_id, report_type, title, definition, now_ms, faults.take_failed_report(),
        columns, rows, totals,
    )  # fmt: skip


def _summary_rows(
    tenant: TenantState,
    body: dict[str, Any],
    report_type: str,
    window: Window,
    granularity: str,
    now_ms: int,
    opts: RenderOptions,
    grand_total: bool,
) -> tuple[list[tuple[str, str]], list[list[str | None]], list[dict[str, Any] | None]]:
    if report_type == SCRIPT_PATHS_TYPE:
        cols = [(_label(c.replace(" ", "")), c) for c in SCRIPT_PATHS_COLUMNS]
        rows: list[list[str | None]] = [
            ["1", None, "4163", "Main IVR", "Start", "Welcome", "0", "12", "false"],
            ["2", "1", "4163", "Main IVR", "Menu", "Support", "1", "9", "true"],
        ]
        return cols, rows, [None] * len(rows)
    if report_type in DETAILED_TYPES:
        fields = INTERACTION_FIELDS if report_type == INTERACTION_TYPE else AGENT_STATUS_FIELDS
        keys = _metrics(body, report_type)
        specs = [f for f in fields if f.key in keys]
        records, as_of = select_records(
            tenant, report_type, window, now_ms=now_ms, show_ongoing=False, state_in_time=False
        )
        records.sort(key=lambda r: (-r.time_ms, r.seq))
        out_rows: list[list[str | None]] = []
        for record in records:
            values = (
                interaction_values(record, as_of, opts)
                if isinstance(record, Interaction)
                else agent_status_values(record, opts)
            )
            out_rows.append([stringify(s, values[s.key], opts) for s in specs])
        return [(s.key, s.label) for s in specs], out_rows, [None] * len(out_rows)
    groupings, type_metrics = SUMMARY_TYPES[report_type]
    group_by = body.get("groupBy") or {}
    if not isinstance(group_by, dict):
        raise bad_request("Field 'groupBy' must be an object")
    group_name = group_by.get("name", groupings[0][0])
    if group_name not in {name for name, _ in groupings}:
        raise bad_request(f"Unknown groupBy '{group_name}' for report type {report_type}")
    raw_metrics = body.get("metrics") or list(type_metrics)
    if not isinstance(raw_metrics, list) or any(m not in type_metrics for m in raw_metrics):
        raise bad_request(f"Unknown metric in {raw_metrics!r} for report type {report_type}")
    metrics = list(dict.fromkeys(raw_metrics))
    filters: dict[str, set[str]] = {}
    for entry in group_by.get("filters") or []:
        if isinstance(entry, dict) and isinstance(entry.get("values"), list):
            filters[str(entry.get("name"))] = {str(v).lower() for v in entry["values"]}
    buckets = _buckets(window, granularity)
    if report_type in ("agent-status-by-status-code", "agent-status-logged-in", "agent-status-time-on-status",
                       "agent-interactions-by-wrap-up-code", "agent-interactions-call-summary",
                       "agent-interactions-handling-and-wrap-up", "agent-interactions-summary"):  # fmt: skip
        return _agent_summary(
            tenant, buckets, window, group_name, metrics, filters, now_ms, opts, grand_total
        )
    return _queue_summary(tenant, buckets, window, group_name, metrics, filters, now_ms, opts, grand_total)


def _grand_total_row(
    columns: list[tuple[str, str]], rows: list[list[str | None]], metrics: list[str], dims: int
) -> list[str | None]:
    total: list[str | None] = [None] * dims
    for index, metric in enumerate(metrics):
        values = [int(r[dims + index] or 0) for r in rows]
        if metric.startswith("avg"):
            total.append(str(round(sum(values) / len(values))) if values else "0")
        else:
            total.append(str(sum(values)))
    return total


def _queue_summary(
    tenant: TenantState,
    buckets: list[tuple[int, int]],
    window: Window,
    group_name: str,
    metrics: list[str],
    filters: dict[str, set[str]],
    now_ms: int,
    opts: RenderOptions,
    grand_total: bool,
) -> tuple[list[tuple[str, str]], list[list[str | None]], list[dict[str, Any] | None]]:
    with_channel = "channel" in group_name
    dims = ["startTime", "endTime", "media", *(["channel"] if with_channel else []), "queue", "queueId"]
    groups: dict[tuple[int, str, str, str], list[Interaction]] = {}
    upper = min(window.end_ms, now_ms)
    for ix in tenant.interactions.created_between(window.start_ms, upper):
        if ix.queue is None or ix.finished_ms > now_ms or not _in_intraday(ix.time_ms, window):
            continue
        if "queue" in filters and ix.queue.queue_id.lower() not in filters["queue"]:
            continue
        if "media" in filters and not (
            ix.media.lower() in filters["media"]
            or f"{ix.direction[:-3]}{ix.media}".lower() in filters["media"]
        ):
            continue
        bucket = next((b for b in buckets if b[0] <= ix.time_ms < b[1]), None)
        if bucket is None:
            continue
        groups.setdefault((bucket[0], ix.media, ix.queue.channel_id or "", ix.queue.queue_id), []).append(ix)
    columns = [(k, _label(k)) for k in dims + metrics]
    rows: list[list[str | None]] = []
    bucket_end = dict(buckets)
    for (start, media, channel, queue_id), items in sorted(groups.items()):
        queue = tenant.world.queues_by_id[queue_id]
        accepted = [ix for ix in items if ix.handled]
        handling = [
            sum((p.handling_end_ms or p.action_ms) - p.action_ms for p in ix.participants if p.accepted)
            for ix in accepted
        ]
        waits = [
            next((p.action_ms for p in ix.participants if p.accepted), ix.abandon_ms or ix.finished_ms)
            - (ix.queue_time_ms or ix.time_ms)
            for ix in items
        ]
        values = {
            "entered": len(items),
            "accepted": len(accepted),
            "abandoned": sum(1 for ix in items if ix.abandon_ms is not None),
            "handlingTime": sum(handling),
            "avgHandlingTime": round(sum(handling) / len(handling)) if handling else 0,
            "avgWaitTime": round(sum(waits) / len(waits)) if waits else 0,
        }
        row: list[str | None] = [
            format_minute_ts(start, window.tz),
            format_minute_ts(bucket_end[start], window.tz),
            media,
            *([channel or None] if with_channel else []),
            queue.name,
            queue.queue_id,
        ]
        row += [str(values[m]) for m in metrics]
        rows.append(row)
    totals: list[dict[str, Any] | None] = [None] * len(rows)
    if grand_total and rows:
        rows.append(_grand_total_row(columns, rows, metrics, len(dims)))
        totals.append({"type": "grandtotal", "startIndex": 0, "endIndex": len(rows) - 2})
    return columns, rows, totals


_STATE_METRIC = {
    "availableTime": ("Available",),
    "busyTime": ("Offering", "Handling", "WrapUp"),
    "handlingTime": ("Handling",),
    "onBreakTime": ("OnBreak",),
    "workingOfflineTime": ("WorkingOffline",),
    "wrapUpTime": ("WrapUp",),
    "loggedInTime": tuple(s for s in set(LIVE_MAP.values()) if s != "LoggedOut"),
}


def _agent_summary(
    tenant: TenantState,
    buckets: list[tuple[int, int]],
    window: Window,
    group_name: str,
    metrics: list[str],
    filters: dict[str, set[str]],
    now_ms: int,
    opts: RenderOptions,
    grand_total: bool,
) -> tuple[list[tuple[str, str]], list[list[str | None]], list[dict[str, Any] | None]]:
    with_group = group_name == "group-and-agent"
    dims = ["startTime", "endTime", *(["group", "groupId"] if with_group else []), "agent", "agentId"]
    columns = [(k, _label(k)) for k in dims + metrics]
    rows: list[list[str | None]] = []
    for agent in tenant.world.agents:
        if "agent" in filters and agent.agent_id.lower() not in filters["agent"]:
            continue
        if "group" in filters and agent.group.group_id.lower() not in filters["group"]:
            continue
        for start, end in buckets:
            clipped_end = min(end, now_ms)
            if clipped_end <= start:
                continue
            segments, events = tenant.status_log.segments(agent, start, clipped_end)
            events = [e for e in events if not e.duplicate and e.time_ms < clipped_end]
            logged_in = sum(s.end_ms - s.start_ms for s in segments if s.state != "LoggedOut")
            if logged_in == 0:
                continue
            values: dict[str, int] = {}
            for metric, states in _STATE_METRIC.items():
                values[metric] = sum(s.end_ms - s.start_ms for s in segments if s.state in states)
            values["offered"] = sum(1 for e in events if e.status == "Offered")
            values["accepted"] = sum(1 for e in events if e.status == "Accepted")
            values["rejected"] = sum(1 for e in events if e.status in ("Rejected", "Timeout"))
            values["avgHandlingTime"] = (
                round(values["handlingTime"] / values["accepted"]) if values["accepted"] else 0
            )
            row: list[str | None] = [format_minute_ts(start, window.tz), format_minute_ts(end, window.tz)]
            if with_group:
                row += [agent.group.name, agent.group.group_id]
            row += [agent.name, agent.agent_id]
            row += [str(values[m]) for m in metrics]
            rows.append(row)
    totals: list[dict[str, Any] | None] = [None] * len(rows)
    if grand_total and rows:
        rows.append(_grand_total_row(columns, rows, metrics, len(dims)))
        totals.append({"type": "grandtotal", "startIndex": 0, "endIndex": len(rows) - 2})
    return columns, rows, totals


# -- store -------------------------------------------------------------------------------------------


class ReportStore:
    """All reports of the simulator, with monotonic ids and retention on the simulator clock."""

    def __init__(self, first_id: int, retention_ms: int) -> None:
        self._lock = threading.Lock()
        self._next = first_id
        self._retention_ms = retention_ms
        self.detailed: dict[int, DetailedReport] = {}
        self.summary: dict[int, SummaryReport] = {}

    def next_id(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value

    def add_detailed(self, report: DetailedReport) -> None:
        with self._lock:
            self.detailed[report.report_id] = report

    def add_summary(self, report: SummaryReport) -> None:
        with self._lock:
            self.summary[report.report_id] = report

    def _alive(self, created_ms: int, now_ms: int) -> bool:
        return now_ms - created_ms <= self._retention_ms

    def get_detailed(self, report_id: int, tenant_id: str, now_ms: int) -> DetailedReport:
        with self._lock:
            self._purge(now_ms)
            report = self.detailed.get(report_id)
        if report is None or report.tenant_id != tenant_id:
            raise ApiError(404, "Not found")
        return report

    def get_summary(self, report_id: int, tenant_id: str, now_ms: int) -> SummaryReport:
        with self._lock:
            self._purge(now_ms)
            report = self.summary.get(report_id)
        if report is None or report.tenant_id != tenant_id:
            raise ApiError(404, "Not found")
        return report

    def _purge(self, now_ms: int) -> None:
        for store in (self.detailed, self.summary):
            expired = [rid for rid, r in store.items() if not self._alive(r.created_ms, now_ms)]
            for rid in expired:
                del store[rid]


def link_header(url: str, rel: str) -> str:
    return f'<{url}>; rel="{rel}"'


def quote_cursor(cursor: str) -> str:
    return quote(cursor, safe="")


__all__ = [
    "AGENT_STATUS_FIELD_MAP",
    "AGENT_STATUS_TYPE",
    "DetailedReport",
    "ReportStore",
    "SummaryReport",
    "create_detailed",
    "create_summary",
    "decode_cursor",
    "encode_cursor",
]
