"""Historical reports: detailed reports (docs/8x8-api-notes.md, “Detailed reports”).

A detailed report is materialised at creation as an immutable snapshot (the records, their
malformation and the instant they are viewed at); pages are rendered from it on demand, so the same
cursor always returns the same rows. Reports are kept ``report_retention_hours`` of simulator time.

Speed: the product re-reads every row many times (each run re-reads its look-back, the daily settle
run two days), and rendering a row (model → dicts → ``json.dumps``) costs far more than sending it.
A row that can no longer change — an agent-status event, or an interaction finished by the instant
the report views it at — renders to the same bytes in every report with the same metrics, options
and malformation, so its JSON is rendered once into a per-tenant ``FragmentCache`` and pages are
joined from those fragments. Ongoing interactions depend on that instant and are rendered per
request. A row rendered for the first time computes only the fields its report asks for and is
written straight to JSON (``RowEncoder``). ``render_page`` is the reference rendering the
fragments must equal byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from acdflow_dev.sim.agentstatus import StatusEvent
from acdflow_dev.sim.catalog import (
    AGENT_STATUS_FIELD_MAP,
    AGENT_STATUS_TYPE,
    DETAILED_TYPES,
    FIELDS_BY_TYPE,
    INTERACTION_TYPE,
)
from acdflow_dev.sim.errors import ApiError, bad_request
from acdflow_dev.sim.faults import FaultInjector
from acdflow_dev.sim.fragments import FragmentCache, FragmentKey
from acdflow_dev.sim.interactions import Interaction
from acdflow_dev.sim.render import (
    RenderOptions,
    RowEncoder,
    agent_status_values,
    interaction_values,
    render_row,
)
from acdflow_dev.sim.search import SearchError, compile_filters, matches
from acdflow_dev.sim.tenant import TenantState
from acdflow_dev.sim.timefmt import local_ms_of_day, parse_date_range_value, parse_time_of_day, zone

TITLE_RE = re.compile(r"^[A-Za-z0-9\s!\-_.*'()]+$")
TITLE_MAX = 255
MIN_INTRADAY_DETAILED_MS = 5 * 60_000
DAY_MS = 86_400_000

Record = Interaction | StatusEvent


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int
    tz: ZoneInfo
    tz_name: str
    intraday: tuple[int, int] | None


class RowRef(NamedTuple):
    time_ms: int
    seq: int
    record: Record
    malformation: str | None
    # Renders the same in every report (see the module docstring), so its JSON may be shared.
    final: bool = False


def _record_order(record: Record) -> tuple[int, int]:
    """Page order: newest first, then by ``seq`` (the cursor's ``searchAfter``)."""
    return (-record.time_ms, record.seq)


@dataclass
class DetailedReport:
    """A report's rows are its records in page order and the malformation of the few malformed ones.

    Not a tuple per row: reports are kept for a day of simulator time (the soak run's several
    hundred, the settle run's with 200,000 rows each), and every object they hold is one more the
    garbage collector walks, holding the GIL, on each full collection.
    """

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
    records: tuple[Record, ...] = ()
    malformations: dict[int, str] = field(default_factory=dict)  # row index -> kind

    def __post_init__(self) -> None:
        self._encoder: RowEncoder | None = None
        self._fields = frozenset(self.keys)

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def rows(self) -> list[RowRef]:
        """Every row (built on each call: for tests and benchmarks; pages use ``refs``)."""
        return self.refs(0, len(self.records))

    def refs(self, start: int, size: int) -> list[RowRef]:
        """Rows ``start`` to ``start + size`` (exclusive) in page order."""
        as_of = self.as_of_ms
        bad = self.malformations
        out: list[RowRef] = []
        for index, record in enumerate(self.records[start : start + size], start):
            final = not isinstance(record, Interaction) or record.finished_ms <= as_of
            out.append(RowRef(record.time_ms, record.seq, record, bad.get(index), final))
        return out

    def start_index(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        epoch_ms, seq = decode_cursor(cursor)
        return bisect_right(self.records, (-epoch_ms, seq), key=_record_order)

    def render(self, refs: list[RowRef]) -> list[dict[str, object]]:
        return [self.render_one(ref) for ref in refs]

    def render_one(self, ref: RowRef) -> dict[str, object]:
        assert self.opts is not None
        record = ref.record
        if isinstance(record, Interaction):
            values = interaction_values(record, self.as_of_ms, self.opts)
        else:
            values = agent_status_values(record, self.opts)
        return render_row(
            values,
            self.keys,
            FIELDS_BY_TYPE[self.report_type],
            self.opts,
            include_participants=self.include_participants,
            malformation=ref.malformation,
        )

    def render_json(self, ref: RowRef) -> bytes:
        """``json.dumps(self.render_one(ref))``, written directly unless the row is malformed."""
        if ref.malformation is not None:
            return json.dumps(self.render_one(ref)).encode()
        assert self.opts is not None
        encoder = self._encoder
        if encoder is None:
            encoder = self._encoder = RowEncoder(
                self.keys,
                FIELDS_BY_TYPE[self.report_type],
                self.opts,
                include_participants=self.include_participants,
            )
        record = ref.record
        if isinstance(record, Interaction):
            values = interaction_values(record, self.as_of_ms, self.opts, self._fields)
        else:
            values = agent_status_values(record, self.opts)
        return encoder.encode(values).encode()

    def page_body(self, refs: list[RowRef], cache: FragmentCache) -> bytes:
        """The JSON body of a data page; equals ``render_page`` byte for byte."""
        variant = cache.variant_id((self.report_type, tuple(self.keys), self.include_participants, self.opts))
        keys = [(variant, ref.seq, ref.malformation) if ref.final else None for ref in refs]
        fragments = cache.lookup(keys)
        rendered: list[tuple[FragmentKey, bytes]] = []
        for i, fragment in enumerate(fragments):
            if fragment is None:
                # json.dumps of a list joins its items with ", ": a page is its rows' dumps joined so.
                fragment = self.render_json(refs[i])
                fragments[i] = fragment
                key = keys[i]
                if key is not None:
                    rendered.append((key, fragment))
        if rendered:
            cache.store(rendered)
        return b"[" + b", ".join(fragments) + b"]"  # type: ignore[arg-type]


def render_page(report: DetailedReport, refs: list[RowRef]) -> bytes:
    """A data page rendered row by row with no cache: the reference ``page_body`` must equal."""
    return json.dumps(report.render(refs)).encode()


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
    honor_timezone: bool = True,
) -> Window:
    tz_name = body.get("timezone")
    if tz_name is None:
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
            if span < MIN_INTRADAY_DETAILED_MS:
                minutes = MIN_INTRADAY_DETAILED_MS // 60_000
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
        intraday = window.intraday is not None
        for ix in tenant.interactions.created_between(window.start_ms, upper):
            if intraday and not _in_intraday(ix.time_ms, window):
                continue
            if ix.finished_ms > as_of and not show_ongoing:
                continue
            found.append(ix)
        return found, as_of
    events = tenant.status_log.events_between(window.start_ms, upper)
    if window.intraday is None:
        return list(events), now_ms
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
    window = _parse_window(body, tenant, quirk=quirk, honor_timezone=honor_timezone)
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
    kept: list[Record] = []
    for record in records:
        if filters:
            if isinstance(record, Interaction):
                values = interaction_values(record, as_of, opts)
            else:
                values = agent_status_values(record, opts)
            if not matches(filters, values):
                continue
        kept.append(record)
    kept.sort(key=_record_order)
    malformations: dict[int, str] = {}
    for index, record in enumerate(kept):
        if isinstance(record, Interaction):
            bad = faults.interaction_malformation(record.interaction_id) if record.importable_shape else None
        else:
            bad = faults.agent_malformation(record.key)
        if bad is not None:
            malformations[index] = bad
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
        tuple(kept),
        malformations,
    )


# -- store -------------------------------------------------------------------------------------------


class ReportStore:
    """All reports of the simulator, with monotonic ids and retention on the simulator clock."""

    def __init__(self, first_id: int, retention_ms: int) -> None:
        self._lock = threading.Lock()
        self._next = first_id
        self._retention_ms = retention_ms
        self.detailed: dict[int, DetailedReport] = {}

    def next_id(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value

    def add_detailed(self, report: DetailedReport) -> None:
        with self._lock:
            self.detailed[report.report_id] = report

    def _alive(self, created_ms: int, now_ms: int) -> bool:
        return now_ms - created_ms <= self._retention_ms

    def get_detailed(self, report_id: int, tenant_id: str, now_ms: int) -> DetailedReport:
        with self._lock:
            self._purge(now_ms)
            report = self.detailed.get(report_id)
        if report is None or report.tenant_id != tenant_id:
            raise ApiError(404, "Not found")
        return report

    def _purge(self, now_ms: int) -> None:
        expired = [rid for rid, r in self.detailed.items() if not self._alive(r.created_ms, now_ms)]
        for rid in expired:
            del self.detailed[rid]


def link_header(url: str, rel: str) -> str:
    return f'<{url}>; rel="{rel}"'


def quote_cursor(cursor: str) -> str:
    return quote(cursor, safe="")


__all__ = [
    "AGENT_STATUS_FIELD_MAP",
    "AGENT_STATUS_TYPE",
    "DetailedReport",
    "FragmentCache",
    "ReportStore",
    "create_detailed",
    "decode_cursor",
    "encode_cursor",
    "render_page",
]
