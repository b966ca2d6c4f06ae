"""Every malformation the 8x8 API could hand the import, and what must happen to it.

This is the one list of bad input: rows of the two detailed reports, elements of the realtime
``/agents`` answer, and HTTP answers that break the paging contract. Each case names the outcome a
person can rely on — the row is loaded (and how), quarantined with this reason, filtered by a
product rule, collapsed as a duplicate, or the run fails with this error and writes nothing. The
expected reasons and values are written out by hand (values worked out from the rules in
docs/8x8-api-notes.md), never imported from the code under test, so changing what a person is told
is a visible change.

``test_catalogue.py`` runs each case through the real pipeline steps (scripted 8x8 on a real
socket, real PostgreSQL), always between valid rows that must still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from acdflow.eightbyeight import ApiError, PaginationError
from tests.badinput.harness import MAX_ATTEMPTS
from tests.client.scripted_server import Answer, report_pages
from tests.transform.transform_testlib import OMIT, agent, interaction, participant, row, status_row, utc

# ---- what a case can come to ----------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """The row is imported; ``columns`` are values its warehouse row must hold."""

    why: str
    columns: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Quarantined:
    """The row lands in ``rejected_rows`` with exactly this reason."""

    reason: str


@dataclass(frozen=True)
class Filtered:
    """A product rule (which interactions are imported) skips the row; it is counted under this reason."""

    reason: str


@dataclass(frozen=True)
class Duplicate:
    """The row repeats one already read and is counted as a duplicate, not loaded twice."""

    count: int = 1


@dataclass(frozen=True)
class Collapsed:
    """Two statuses of one agent at the same instant: one row survives (``columns``), one is counted."""

    columns: Mapping[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A realtime element yields no live status; the poll skips it and counts it with this reason."""

    reason: str


@dataclass(frozen=True)
class Fails:
    """The run stops with this error type and message; nothing of the report is written."""

    error: type[Exception]
    message: str
    data_requests: int


Outcome = Loaded | Quarantined | Filtered | Duplicate | Collapsed | Skipped


# The malformations asked for, so a test can check each has at least one case.
CATEGORIES = (
    "missing key",
    "null value",
    "unparseable timestamp",
    "timestamp without offset",
    "documented duration format",
    "wrong duration format",
    "unknown enumeration value",
    "duplicate within a report",
    "duplicate across pages",
    "not a JSON row or element",
    "page that is not JSON",
    "empty body with 200",
    "headers disagree with body",
    "repeating cursor or page",
    "text too long for an index",
    "timestamp far from the report window",
    "implausible handling time",
    "number out of range",
)


class NumberLiteral(str):
    """A JSON number literal served bare (``NaN``, 5 000 digits); its text is what lands.

    ``json.dumps`` cannot write such a literal, so the test serving the page writes it unquoted;
    the client keeps over-long and non-finite literals as their text, which is this string.
    """


def number_literals(value: Any) -> list[NumberLiteral]:
    """Every :class:`NumberLiteral` inside ``value``."""
    if isinstance(value, NumberLiteral):
        return [value]
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in number_literals(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in number_literals(v)]
    return []


HUGE_NUMBER = NumberLiteral("9" * 5000)
NAN = NumberLiteral("NaN")
INFINITY = NumberLiteral("-Infinity")
TOO_BIG_FLOAT = NumberLiteral("1e999")
THREE_KB = 3 * 1024


# ---- valid neighbours -----------------------------------------------------------------------
#
# Every case runs as [[VALID_A, *bad], [VALID_B]] (or with the bad rows on the second page), so
# "the valid rows still load" is checked every time, across a page boundary.

# Queued 08:59:58 PST = 16:59:58Z; accepted 09:00:00, wrap-up ended 09:06:00: 360 000 ms.
VALID_INTERACTION_A = interaction(interactionId="valid-a")
# A chat queued 09:01 PST = 17:01Z; accepted 09:01:10, handling ended 09:03:10, no wrap-up: 120 000 ms.
VALID_INTERACTION_B = interaction(
    interactionId="valid-b",
    mediaType="Chat",
    queueTime="2025-11-18T09:01:00.000-08:00",
    participants=[
        participant(
            offer_action="2025-11-18T09:01:10.000-08:00",
            handling_end="2025-11-18T09:03:10.000-08:00",
            wrap_up_end=None,
        )
    ],
)
VALID_INTERACTION_IDS = ("valid-a", "valid-b")

VALID_STATUS_A = status_row(
    agentId="agA", agent="Ann", time="2025-11-18T09:00:00.000-08:00", status="Available", statusCode=None
)
VALID_STATUS_B = status_row(agentId="agB", agent="Bo", time="2025-11-18T09:05:00.000-08:00")
VALID_STATUS_AGENTS = ("agA", "agB")

# lastLogin 16:28:08.013Z + loggedIn 12 717 886 ms − onStatus 1 797 000 ms = 19:30:08.899Z.
LIVE_METRICS: dict[str, Any] = {
    "status.rt": "OnBreak",
    "statusCode.rt": "Lunch",
    "timeOnStatus.rt": 1_797_000,
    "lastLogin.rt": "2025-11-18T16:28:08.013Z",
    "lastLogout.rt": None,
    "loggedInTime.rt": 12_717_886,
}
LIVE_START = utc(2025, 11, 18, 19, 30, 8, 899000)
VALID_AGENT_A = agent(LIVE_METRICS, id="agA", name="Ann")
VALID_AGENT_B = agent({**LIVE_METRICS, "status.rt": "Available", "statusCode.rt": None}, id="agB", name="Bo")
VALID_LIVE_AGENTS = ("agA", "agB")


def suspect(**overrides: Any) -> dict[str, Any]:
    """An interaction row that would load as ``suspect`` but for ``overrides``."""
    return interaction(**{"interactionId": "suspect", **overrides})


def suspect_status(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"agentId": "agSuspect", "agent": "Sue", "time": "2025-11-18T09:07:00.000-08:00"}
    return status_row(**{**fields, **overrides})


def suspect_agent(**metrics: Any) -> dict[str, Any]:
    return agent({**LIVE_METRICS, **metrics}, id="agSuspect", name="Sue")


# ---- detailed-report rows -------------------------------------------------------------------

Report = Literal["interactions", "agent_status"]
Layout = Literal["same_page", "next_page"]


@dataclass(frozen=True)
class RowCase:
    id: str
    category: str
    report: Report
    rows: tuple[Any, ...]
    outcome: Outcome
    layout: Layout = "same_page"
    # Whole report instead of the valid-neighbour layout (a page served twice, say).
    pages: tuple[tuple[Any, ...], ...] | None = None

    def report_pages(self) -> list[list[Any]]:
        if self.pages is not None:
            return [list(p) for p in self.pages]
        a, b = (
            (VALID_INTERACTION_A, VALID_INTERACTION_B)
            if self.report == "interactions"
            else (VALID_STATUS_A, VALID_STATUS_B)
        )
        if self.layout == "same_page":
            return [[a, *self.rows], [b]]
        return [[a], [b, *self.rows]]


# Durations are never read by the mapping: AHT comes from participant timestamps (product rule),
# so whatever format a duration field has, the row loads with the AHT of its timestamps.
_DURATION_FIELDS = ("queueWaitDuration", "interactionDuration")
_PARTICIPANT_DURATIONS = ("participantHandlingDuration", "participantWrapUpDuration")


def with_durations(value: Any) -> dict[str, Any]:
    p = participant(**dict.fromkeys(_PARTICIPANT_DURATIONS, value))
    return suspect(participants=[p], **dict.fromkeys(_DURATION_FIELDS, value))


_AHT_FROM_TIMESTAMPS = Loaded("durations are not read", {"handled": True, "handling_ms": 360_000})

# The report window is 17:00-17:15 UTC (tests/badinput/harness.py): interaction times may lie from
# 2025-11-16T17:00Z to 2025-11-26T17:15Z, status-change times from 2025-11-16T17:00Z to 2025-11-20T17:15Z.
_BEFORE = "is more than 2 days before the report window"
_AFTER_INTERACTION = "is more than 8 days after the report window"
_AFTER_STATUS = "is more than 2 days after the report window"
_OFFER = "participants[0].participantOfferActionTime"
_WRAP_UP = "participants[0].participantWrapUpEndTime"

# Offered 2025-11-17T09:00-08:00 (a day before the window: plausible), wrap-up ended
# 2025-11-18T09:06-08:00: 24 h 6 min of handling, more than any real call.
_HANDLED_FOR_A_DAY = suspect(participants=[participant(offer_action="2025-11-17T09:00:00.000-08:00")])
_NO_PLAUSIBLE_AHT = Loaded("counts in volume, no handling time", {"handled": True, "handling_ms": None})

I: Report = "interactions"  # noqa: E741 - short tags keep the table readable
S: Report = "agent_status"

ROW_CASES: tuple[RowCase, ...] = (
    # -- missing keys: the report was requested without a field the mapping needs
    RowCase("missing-queueTime", "missing key", I, (suspect(queueTime=OMIT),),
            Quarantined("missing key queueTime")),
    RowCase("missing-interactionId", "missing key", I, (suspect(interactionId=OMIT),),
            Quarantined("missing key interactionId")),
    RowCase("missing-mediaType", "missing key", I, (suspect(mediaType=OMIT),),
            Quarantined("missing key mediaType")),
    RowCase("missing-direction", "missing key", I, (suspect(direction=OMIT),),
            Quarantined("missing key direction")),
    RowCase("missing-queueName", "missing key", I, (suspect(queueName=OMIT),),
            Quarantined("missing key queueName")),
    RowCase("missing-interactionLabels", "missing key", I, (suspect(interactionLabels=OMIT),),
            Quarantined("missing key interactionLabels")),
    RowCase("missing-participants", "missing key", I, (suspect(participants=OMIT),),
            Loaded("no AHT without participants", {"handled": True, "handling_ms": None})),
    RowCase("missing-optional-time", "missing key", I, (suspect(time=OMIT),),
            Loaded("creation time is optional", {"created_time": None})),
    RowCase("status-missing-agentId", "missing key", S, (suspect_status(agentId=OMIT),),
            Quarantined("missing key agentId")),
    RowCase("status-missing-time", "missing key", S, (suspect_status(time=OMIT),),
            Quarantined("missing key time")),
    RowCase("status-missing-status", "missing key", S, (suspect_status(status=OMIT),),
            Quarantined("missing key status")),
    RowCase("status-missing-optional-name", "missing key", S, (suspect_status(agent=OMIT),),
            Loaded("agent name is optional", {"agent_name": None, "status_name": "OnBreak (Lunch)"})),
    # -- nulls where values are expected
    RowCase("null-queueTime", "null value", I, (suspect(queueTime=None),), Quarantined("queueTime is null")),
    RowCase("null-mediaType", "null value", I, (suspect(mediaType=None),), Quarantined("mediaType is null")),
    RowCase("null-interactionId", "null value", I, (suspect(interactionId=None),),
            Quarantined("interactionId is not a non-empty string (got None)")),
    RowCase("null-queueName", "null value", I, (suspect(queueName=None),), Filtered("no queueName")),
    RowCase("null-direction", "null value", I, (suspect(direction=None),),
            Filtered("direction not InboundDir/OutboundDir")),
    RowCase("null-interactionLabels", "null value", I, (suspect(interactionLabels=None),),
            Loaded("no labels: not handled", {"handled": False, "handling_ms": None})),
    RowCase("null-finishedTime", "null value", I, (suspect(finishedTime=None),),
            Loaded("finishedTime is optional", {"finished_time": None, "handling_ms": 360_000})),
    RowCase("null-offer-time", "null value", I, (suspect(participants=[participant(offer_action=None)]),),
            Loaded("no AHT without an offer time", {"handled": True, "handling_ms": None})),
    RowCase("null-items", "null value", I, ({"total": None, "items": None},),
            Quarantined("items is not a list (got null)")),
    RowCase("null-row", "null value", I, (None,), Quarantined("row is not an object (got null)")),
    RowCase("status-null-agentId", "null value", S, (suspect_status(agentId=None),),
            Quarantined("agentId is null")),
    RowCase("status-null-status", "null value", S, (suspect_status(status=None),),
            Quarantined("status is null")),
    RowCase("status-null-time", "null value", S, (suspect_status(time=None),), Quarantined("time is null")),
    RowCase("status-null-code", "null value", S, (suspect_status(statusCode=None),),
            Loaded("status code is optional", {"status_name": "OnBreak", "status_code": None})),
    # -- timestamps that cannot be read
    RowCase("unparseable-queueTime", "unparseable timestamp", I, (suspect(queueTime="18/11/2025 09:00:05"),),
            Quarantined("unparseable queueTime '18/11/2025 09:00:05'")),
    RowCase("epoch-queueTime", "unparseable timestamp", I, (suspect(queueTime=1763485205120),),
            Quarantined("queueTime is not a timestamp string (got int)")),
    RowCase("basic-offset-queueTime", "unparseable timestamp", I,
            (suspect(queueTime="2025-11-18T09:00:05.120-0800"),),
            Quarantined("unparseable queueTime '2025-11-18T09:00:05.120-0800'")),
    RowCase("out-of-range-queueTime", "unparseable timestamp", I,
            (suspect(queueTime="9999-12-31T23:59:59.999-08:00"),),
            Quarantined("unparseable queueTime '9999-12-31T23:59:59.999-08:00'")),
    RowCase("unparseable-time", "unparseable timestamp", I, (suspect(time="yesterday"),),
            Quarantined("unparseable time 'yesterday'")),
    RowCase("unparseable-participant-time", "unparseable timestamp", I,
            (suspect(participants=[participant(wrap_up_end="soon")]),),
            Quarantined("unparseable participants[0].participantWrapUpEndTime 'soon'")),
    RowCase("status-unparseable-time", "unparseable timestamp", S, (suspect_status(time="12:00:03 PM"),),
            Quarantined("unparseable time '12:00:03 PM'")),
    RowCase("minute-precision-queueTime", "unparseable timestamp", I,
            (suspect(queueTime="2025-11-18T09:02-08:00"),),
            Loaded("minute precision appears in 8x8's examples", {"queue_time": utc(2025, 11, 18, 17, 2)})),
    # -- timestamps without an offset: the instant is ambiguous
    RowCase("naive-queueTime", "timestamp without offset", I, (suspect(queueTime="2025-11-18T09:00:05.120"),),
            Quarantined("queueTime has no UTC offset ('2025-11-18T09:00:05.120')")),
    RowCase("naive-finishedTime", "timestamp without offset", I,
            (suspect(finishedTime={"value": "2025-11-18T09:05:00.001", "ongoing": False}),),
            Quarantined("finishedTime has no UTC offset ('2025-11-18T09:05:00.001')")),
    RowCase("naive-participant-time", "timestamp without offset", I,
            (suspect(participants=[participant(wrap_up_end="2025-11-18T09:06:00")]),),
            Quarantined(
                "participants[0].participantWrapUpEndTime has no UTC offset ('2025-11-18T09:06:00')")),
    RowCase("status-naive-time", "timestamp without offset", S,
            (suspect_status(time="2025-11-18T09:07:00.000"),),
            Quarantined("time has no UTC offset ('2025-11-18T09:07:00.000')")),
    # -- durations in every documented format (docs/8x8-api-notes.md, "Row format") ...
    RowCase("duration-object", "documented duration format", I,
            (with_durations({"value": 41_000, "ongoing": False}),), _AHT_FROM_TIMESTAMPS),
    RowCase("duration-object-ongoing", "documented duration format", I,
            (with_durations({"value": 41_000, "ongoing": True}),), _AHT_FROM_TIMESTAMPS),
    RowCase("duration-h-mm-ss", "documented duration format", I, (with_durations("0:00:41"),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("duration-h-mm-ss-over-a-day", "documented duration format", I, (with_durations("26:00:41"),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("duration-integer-ms", "documented duration format", I, (with_durations(41_000),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("duration-null", "documented duration format", I, (with_durations(None),), _AHT_FROM_TIMESTAMPS),
    # ... and in wrong ones
    RowCase("duration-text", "wrong duration format", I, (with_durations("41 seconds"),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("duration-negative", "wrong duration format", I, (with_durations(-41_000),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("duration-object-without-value", "wrong duration format", I,
            (with_durations({"ongoing": False}),), _AHT_FROM_TIMESTAMPS),
    RowCase("duration-boolean", "wrong duration format", I, (with_durations(True),), _AHT_FROM_TIMESTAMPS),
    RowCase("duration-array", "wrong duration format", I, (with_durations([41_000]),), _AHT_FROM_TIMESTAMPS),
    # -- unknown enumeration values
    RowCase("unknown-mediaType", "unknown enumeration value", I, (suspect(mediaType="Fax"),),
            Quarantined("unknown mediaType 'Fax'")),
    RowCase("mediaType-not-a-string", "unknown enumeration value", I, (suspect(mediaType=["Phone"]),),
            Quarantined("mediaType is not a string (got array)")),
    RowCase("mediaType-other-case", "unknown enumeration value", I, (suspect(mediaType="VOICEMAIL"),),
            Loaded("media types compare case-insensitively",
                   {"channel": "call", "media_type": "VOICEMAIL"})),
    RowCase("unknown-direction", "unknown enumeration value", I, (suspect(direction="Internal"),),
            Filtered("direction not InboundDir/OutboundDir")),
    RowCase("unknown-label", "unknown enumeration value", I,
            (suspect(interactionLabels=["Queued", "Teleported"]),),
            Loaded("only 'Handled' matters", {"handled": False})),
    RowCase("unknown-offer-action", "unknown enumeration value", I,
            (suspect(participants=[participant(action="Vanished")]),),
            Loaded("no accepted participant, no AHT", {"handled": True, "handling_ms": None})),
    RowCase("status-unknown-status", "unknown enumeration value", S,
            (suspect_status(status="Teleporting", statusCode=None),),
            Loaded("status is opaque, kept as received",
                   {"status": "Teleporting", "status_name": "Teleporting"})),
    RowCase("status-camel-case", "unknown enumeration value", S, (suspect_status(status="onBreak"),),
            Loaded("written as received", {"status": "onBreak", "status_name": "onBreak (Lunch)"})),
    # -- duplicates within one report
    RowCase("duplicate-identical", "duplicate within a report", I, (VALID_INTERACTION_A,), Duplicate()),
    RowCase("duplicate-item-order-differs", "duplicate within a report", I,
            ({"total": None, "items": list(reversed(VALID_INTERACTION_A["items"]))},), Duplicate()),
    RowCase("duplicate-conflicting", "duplicate within a report", I,
            (interaction(interactionId="valid-a", interactionLabels=["Queued"]),),
            Quarantined("duplicate interactionId in report with different content (first occurrence kept)")),
    RowCase("status-duplicate-identical", "duplicate within a report", S, (VALID_STATUS_A,), Duplicate()),
    RowCase("status-duplicate-other-case", "duplicate within a report", S,
            (status_row(agentId="agA", agent="Ann", time="2025-11-18T09:00:00.000-08:00", status="AVAILABLE",
                        statusCode=None),), Duplicate()),
    RowCase("status-same-instant", "duplicate within a report", S,
            (status_row(agentId="agA", agent="Ann", time="2025-11-18T09:00:00.000-08:00", status="OnBreak"),),
            Collapsed({"agent_id": "agA", "status_name": "OnBreak (Lunch)"})),
    # -- duplicates across pages
    RowCase("duplicate-identical-next-page", "duplicate across pages", I, (VALID_INTERACTION_A,), Duplicate(),
            layout="next_page"),
    RowCase("duplicate-conflicting-next-page", "duplicate across pages", I,
            (interaction(interactionId="valid-a", mediaType="Email"),),
            Quarantined("duplicate interactionId in report with different content (first occurrence kept)"),
            layout="next_page"),
    RowCase("status-duplicate-next-page", "duplicate across pages", S, (VALID_STATUS_A,), Duplicate(),
            layout="next_page"),
    RowCase("page-served-twice", "repeating cursor or page", I, (), Duplicate(count=2),
            pages=((VALID_INTERACTION_A, VALID_INTERACTION_B), (VALID_INTERACTION_A, VALID_INTERACTION_B))),
    # -- rows that are not the documented {items: [{key, value}]} shape
    RowCase("row-is-a-string", "not a JSON row or element", I, ("not-a-row",),
            Quarantined("row is not an object (got str)")),
    RowCase("row-without-items", "not a JSON row or element", I, ({"total": None},),
            Quarantined("row has no 'items'")),
    RowCase("item-without-key", "not a JSON row or element", I, ({"items": [{"label": "x", "value": 1}]},),
            Quarantined("items[0] has no string 'key'")),
    RowCase("item-key-twice", "not a JSON row or element", I,
            ({"total": None, "items": [*suspect()["items"], {"key": "queueName", "value": "Other"}]},),
            Quarantined("key queueName appears twice in items")),
    RowCase("queueName-not-a-string", "not a JSON row or element", I, (suspect(queueName=412),),
            Quarantined("queueName is not a string (got int)")),
    RowCase("unknown-extra-field", "not a JSON row or element", I, (suspect(brandNewField={"x": [1]}),),
            Loaded("fields the mapping does not read are ignored", {"handling_ms": 360_000})),
    RowCase("status-row-is-a-number", "not a JSON row or element", S, (17,),
            Quarantined("row is not an object (got int)")),
    RowCase("status-agentId-number", "not a JSON row or element", S, (suspect_status(agentId=42),),
            Quarantined("agentId is not a string (got int)")),
    RowCase("status-row-shape", "not a JSON row or element", S, (row({"agentId": "agX"}) | {"items": "x"},),
            Quarantined("items is not a list (got str)")),
    # -- text no PostgreSQL index can hold (an index entry must fit in about 2704 bytes)
    RowCase("interactionId-3kb", "text too long for an index", I, (suspect(interactionId="i" * THREE_KB),),
            Quarantined("interactionId longer than 256 characters")),
    RowCase("queueName-3kb", "text too long for an index", I, (suspect(queueName="Q" * THREE_KB),),
            Quarantined("queueName longer than 512 characters")),
    RowCase("queueName-3kb-multibyte", "text too long for an index", I, (suspect(queueName="😀" * 513),),
            Quarantined("queueName longer than 512 characters")),
    RowCase("queueName-at-the-limit", "text too long for an index", I, (suspect(queueName="😀" * 512),),
            Loaded("512 four-byte characters fit the interval_aht key", {"queue_name": "😀" * 512})),
    RowCase("queueId-3kb", "text too long for an index", I, (suspect(queueId="q" * THREE_KB),),
            Quarantined("queueId longer than 256 characters")),
    RowCase("label-3kb", "text too long for an index", I,
            (suspect(interactionLabels=["Handled", "L" * THREE_KB]),),
            Quarantined("an interaction label longer than 512 characters")),
    RowCase("status-agentId-3kb", "text too long for an index", S, (suspect_status(agentId="a" * THREE_KB),),
            Quarantined("agentId longer than 256 characters")),
    RowCase("status-at-the-limit", "text too long for an index", S,
            (suspect_status(agent="😀" * 512, status="😀" * 128, statusCode="😀" * 128),),
            Loaded("128 four-byte characters each fit the live-log key",
                   {"agent_name": "😀" * 512, "status_name": "😀" * 128 + " (" + "😀" * 128 + ")"})),
    RowCase("status-agent-name-3kb", "text too long for an index", S, (suspect_status(agent="N" * THREE_KB),),
            Quarantined("agent longer than 512 characters")),
    RowCase("status-status-3kb", "text too long for an index", S, (suspect_status(status="S" * THREE_KB),),
            Quarantined("status longer than 128 characters")),
    RowCase("status-code-3kb", "text too long for an index", S, (suspect_status(statusCode="C" * THREE_KB),),
            Quarantined("statusCode longer than 128 characters")),
    # -- times no report for a 15-minute window can carry
    RowCase("participant-times-year-1", "timestamp far from the report window", I,
            (suspect(participants=[participant(offer_action="0001-01-01T00:00:00.000Z",
                                               handling_end="0001-01-01T00:05:00.000Z",
                                               wrap_up_end="0001-01-01T00:06:00.000Z")]),),
            Quarantined(f"{_OFFER} 0001-01-01T00:00:00+00:00 {_BEFORE}")),
    RowCase("participant-times-year-9999", "timestamp far from the report window", I,
            (suspect(participants=[participant(offer_action="9999-12-31T23:50:00.000Z",
                                               handling_end="9999-12-31T23:55:00.000Z",
                                               wrap_up_end="9999-12-31T23:59:59.999Z")]),),
            Quarantined(f"{_OFFER} 9999-12-31T23:50:00+00:00 {_AFTER_INTERACTION}")),
    RowCase("wrap-up-end-year-9999", "timestamp far from the report window", I,
            (suspect(participants=[participant(wrap_up_end="9999-12-31T23:59:59.999Z")]),),
            Quarantined(f"{_WRAP_UP} 9999-12-31T23:59:59.999000+00:00 {_AFTER_INTERACTION}")),
    RowCase("offer-time-epoch-0", "timestamp far from the report window", I,
            (suspect(participants=[participant(offer_action="1970-01-01T00:00:00.000Z")]),),
            Quarantined(f"{_OFFER} 1970-01-01T00:00:00+00:00 {_BEFORE}")),
    RowCase("queueTime-year-1", "timestamp far from the report window", I,
            (suspect(queueTime="0001-01-01T00:00:00.000Z"),),
            Quarantined(f"queueTime 0001-01-01T00:00:00+00:00 {_BEFORE}")),
    RowCase("created-time-epoch-0", "timestamp far from the report window", I,
            (suspect(time="1970-01-01T00:00:00.000Z"),),
            Quarantined(f"time 1970-01-01T00:00:00+00:00 {_BEFORE}")),
    RowCase("finishedTime-year-9999", "timestamp far from the report window", I,
            (suspect(finishedTime={"value": "9999-12-31T23:59:59.000Z", "ongoing": False}),),
            Quarantined(f"finishedTime 9999-12-31T23:59:59+00:00 {_AFTER_INTERACTION}")),
    RowCase("finished-a-week-later", "timestamp far from the report window", I,
            (suspect(finishedTime={"value": "2025-11-25T09:05:00.000-08:00", "ongoing": False}),),
            Loaded("an interaction may finish days after it was queued",
                   {"finished_time": utc(2025, 11, 25, 17, 5), "handling_ms": 360_000})),
    RowCase("status-time-year-9999", "timestamp far from the report window", S,
            (suspect_status(time="9999-06-30T00:00:00.000-08:00"),),
            Quarantined(f"time 9999-06-30T08:00:00+00:00 {_AFTER_STATUS}")),
    RowCase("status-time-year-1", "timestamp far from the report window", S,
            (suspect_status(time="0001-01-01T00:00:00.000Z"),),
            Quarantined(f"time 0001-01-01T00:00:00+00:00 {_BEFORE}")),
    RowCase("status-time-epoch-0", "timestamp far from the report window", S,
            (suspect_status(time="1970-01-01T00:00:00.000Z"),),
            Quarantined(f"time 1970-01-01T00:00:00+00:00 {_BEFORE}")),
    # 09:07 local written with +14:00 instead of -08:00: 22 h early, still loaded for the drift checks.
    RowCase("status-time-offset-quirk", "timestamp far from the report window", S,
            (suspect_status(time="2025-11-18T09:07:00.000+14:00"),),
            Loaded("a wrong tenant offset (up to 14 h) stays visible to the drift checks",
                   {"start_time": utc(2025, 11, 17, 19, 7), "observed_offset_minutes": 14 * 60})),
    # -- handling times no real call has
    RowCase("handling-time-over-a-day", "implausible handling time", I, (_HANDLED_FOR_A_DAY,),
            _NO_PLAUSIBLE_AHT),
    # -- numbers no float or id can be: the client keeps such literals as their text
    RowCase("queueId-5000-digit-number", "number out of range", I, (suspect(queueId=HUGE_NUMBER),),
            Quarantined("queueId longer than 256 characters")),
    RowCase("transactionId-5000-digit-number", "number out of range", I,
            (suspect(transactionId=HUGE_NUMBER),), Quarantined("transactionId longer than 256 characters")),
    RowCase("durations-huge-nan-infinite", "number out of range", I,
            (suspect(queueWaitDuration=HUGE_NUMBER, interactionDuration=NAN,
                     participants=[participant(participantHandlingDuration=INFINITY,
                                               participantWrapUpDuration=TOO_BIG_FLOAT)]),),
            _AHT_FROM_TIMESTAMPS),
    RowCase("status-agentId-5000-digit-number", "number out of range", S,
            (suspect_status(agentId=HUGE_NUMBER),), Quarantined("agentId longer than 256 characters")),
)  # fmt: skip

# Categories whose cases also check the interval's AHT against ground truth (test_catalogue.py).
AHT_CATEGORIES = (
    "text too long for an index",
    "timestamp far from the report window",
    "implausible handling time",
    "number out of range",
)
# The handling times each loaded interaction contributes, worked out from participant timestamps:
# valid-a (queued 16:59:58Z, interval 16:45) accepted 09:00:00, wrap-up ended 09:06:00 PST: 360 000 ms;
# valid-b (chat, 17:01Z, interval 17:00) accepted 09:01:10, handling ended 09:03:10 PST: 120 000 ms.
# Keys: (interval start, queue name, channel).
VALID_AHT: dict[tuple[datetime, str, str], list[int]] = {
    (utc(2025, 11, 18, 16, 45), "Support EN", "call"): [360_000],
    (utc(2025, 11, 18, 17, 0), "Support EN", "chat"): [120_000],
}
# What the suspect adds where it loads with a handling time (queued 16:59:58Z like valid-a,
# accepted 09:00:00, wrap-up ended 09:06:00 PST).
SUSPECT_AHT: dict[str, tuple[tuple[datetime, str, str], int]] = {
    "queueName-at-the-limit": ((utc(2025, 11, 18, 16, 45), "😀" * 512, "call"), 360_000),
    "finished-a-week-later": ((utc(2025, 11, 18, 16, 45), "Support EN", "call"), 360_000),
    "durations-huge-nan-infinite": ((utc(2025, 11, 18, 16, 45), "Support EN", "call"), 360_000),
}
# Handled interactions loaded without a handling time, by the reason the transform summary gives.
AHT_EXCLUDED: dict[str, dict[str, int]] = {"handling-time-over-a-day": {"implausible_handling_time": 1}}


# ---- realtime /agents elements --------------------------------------------------------------


@dataclass(frozen=True)
class LiveCase:
    id: str
    category: str
    elements: tuple[Any, ...]
    outcome: Loaded | Skipped | Duplicate
    layout: Layout = "same_page"

    def agent_pages(self) -> list[list[Any]]:
        if self.layout == "same_page":
            return [[VALID_AGENT_A, *self.elements], [VALID_AGENT_B]]
        return [[VALID_AGENT_A], [VALID_AGENT_B, *self.elements]]


def _not_whole_ms(value: str) -> Skipped:
    return Skipped(f"timeOnStatus.rt is not a whole number of milliseconds ({value})")


LIVE_CASES: tuple[LiveCase, ...] = (
    LiveCase("live-missing-status", "missing key", (suspect_agent(**{"status.rt": OMIT}),),
             Skipped("status.rt is missing or not a non-empty string (None)")),
    LiveCase("live-missing-lastLogin", "missing key", (suspect_agent(**{"lastLogin.rt": OMIT}),),
             Skipped("lastLogin.rt is missing or null")),
    LiveCase("live-missing-metrics", "missing key", ({"id": "agSuspect", "name": "Sue"},),
             Skipped("metrics is not a list (got null)")),
    LiveCase("live-null-timeOnStatus", "null value", (suspect_agent(**{"timeOnStatus.rt": None}),),
             Skipped("timeOnStatus.rt is missing or null")),
    LiveCase("live-null-lastLogout-when-logged-out", "null value",
             (suspect_agent(**{"status.rt": "LoggedOut", "lastLogout.rt": None}),),
             Skipped("lastLogout.rt is missing or null")),
    LiveCase("live-null-id", "null value", (agent(LIVE_METRICS, id=None, name="Nobody"),),
             Skipped("totals element or agent without id")),
    LiveCase("live-null-code", "null value", (suspect_agent(**{"statusCode.rt": None}),),
             Loaded("no status code", {"status_name": "OnBreak", "start_time": LIVE_START})),
    LiveCase("live-unparseable-lastLogin", "unparseable timestamp",
             (suspect_agent(**{"lastLogin.rt": "16:28 yesterday"}),),
             Skipped("unparseable lastLogin.rt '16:28 yesterday'")),
    LiveCase("live-naive-lastLogin", "timestamp without offset",
             (suspect_agent(**{"lastLogin.rt": "2025-11-18T16:28:08.013"}),),
             Skipped("lastLogin.rt has no UTC offset ('2025-11-18T16:28:08.013')")),
    # Realtime durations are integer milliseconds; whole numbers in other JSON spellings load.
    LiveCase("live-duration-integer-ms", "documented duration format",
             (suspect_agent(**{"timeOnStatus.rt": 1_797_000}),),
             Loaded("integer ms", {"start_time": LIVE_START})),
    LiveCase("live-duration-whole-float", "documented duration format",
             (suspect_agent(**{"timeOnStatus.rt": 1_797_000.0}),),
             Loaded("a whole float is exact", {"start_time": LIVE_START})),
    LiveCase("live-duration-digit-string", "documented duration format",
             (suspect_agent(**{"timeOnStatus.rt": "1797000"}),),
             Loaded("numbers come as strings too, like row-level counts", {"start_time": LIVE_START})),
    LiveCase("live-duration-fraction", "wrong duration format",
             (suspect_agent(**{"timeOnStatus.rt": 1797000.5}),),
             _not_whole_ms("1797000.5")),
    LiveCase("live-duration-h-mm-ss", "wrong duration format",
             (suspect_agent(**{"timeOnStatus.rt": "0:29:57"}),),
             _not_whole_ms("'0:29:57'")),
    LiveCase("live-duration-object", "wrong duration format",
             (suspect_agent(**{"timeOnStatus.rt": {"value": 1_797_000, "ongoing": False}}),),
             _not_whole_ms("{'value': 1797000, 'ongoing': False}")),
    LiveCase("live-duration-boolean", "wrong duration format", (suspect_agent(**{"timeOnStatus.rt": True}),),
             _not_whole_ms("True")),
    LiveCase("live-duration-negative", "wrong duration format", (suspect_agent(**{"timeOnStatus.rt": -1}),),
             Skipped("timeOnStatus.rt is negative (-1)")),
    LiveCase("live-unknown-status", "unknown enumeration value",
             (suspect_agent(**{"status.rt": "Levitating", "statusCode.rt": None}),),
             Loaded("status.rt is opaque", {"status": "Levitating", "status_name": "Levitating",
                                            "start_time": LIVE_START, "end_time": None})),
    LiveCase("live-logged-out-other-case", "unknown enumeration value",
             (suspect_agent(**{"status.rt": "LOGGEDOUT", "lastLogout.rt": "2025-11-18T20:00:00.000Z"}),),
             Loaded("LoggedOut matches in any case", {"start_time": utc(2025, 11, 18, 20, 0),
                                                     "end_time": utc(2025, 11, 18, 20, 0),
                                                     "status_name": "LOGGEDOUT"})),
    LiveCase("live-duplicate-agent-next-page", "duplicate across pages", (VALID_AGENT_A,), Duplicate(),
             layout="next_page"),
    LiveCase("live-duplicate-agent-same-page", "duplicate within a report", (VALID_AGENT_A,), Duplicate()),
    LiveCase("live-element-is-a-string", "not a JSON row or element", ("agent",),
             Skipped("agent element is not an object (got str)")),
    LiveCase("live-element-is-an-array", "not a JSON row or element", ([VALID_AGENT_A],),
             Skipped("agent element is not an object (got array)")),
    LiveCase("live-metrics-is-a-map", "not a JSON row or element",
             ({"id": "agSuspect", "name": "Sue", "metrics": {"status.rt": "Available"}},),
             Skipped("metrics is not a list (got object)")),
    LiveCase("live-metric-twice", "not a JSON row or element",
             ({"id": "agSuspect", "name": "Sue",
               "metrics": [*VALID_AGENT_A["metrics"], {"key": "status.rt", "value": "Available"}]},),
             Skipped("key status.rt appears twice in metrics")),
)  # fmt: skip


# ---- HTTP answers that break the paging contract ----------------------------------------------

VALID_INTERACTION_C = interaction(interactionId="valid-c")
VALID_INTERACTION_D = interaction(interactionId="valid-d")
_THREE_ROWS: list[list[Any]] = [[VALID_INTERACTION_A, VALID_INTERACTION_B], [VALID_INTERACTION_C]]
HTTP_ROW_IDS = ("valid-a", "valid-b", "valid-c")
_HTML = b"<html><body>502 Bad Gateway</body></html>"


def _with_header(answer: Answer, **headers: str) -> Answer:
    return Answer(answer.status, answer.body, {**answer.headers, **headers}, answer.raw)


def _honest() -> list[Answer]:
    return report_pages(_THREE_ROWS)


@dataclass(frozen=True)
class HttpCase:
    id: str
    category: str
    target: Literal["interactions", "live"]
    answers: tuple[Answer, ...]
    outcome: Fails


_retried = MAX_ATTEMPTS  # a retryable answer is tried this often before the run fails
_NOT_JSON = "GET answered HTTP 200 with a body that is not JSON on all 3 attempts"

HTTP_CASES: tuple[HttpCase, ...] = (
    HttpCase("page-is-html", "page that is not JSON", "interactions", (Answer(raw=_HTML),),
             Fails(ApiError, _NOT_JSON, _retried)),
    HttpCase("second-page-is-html", "page that is not JSON", "interactions",
             (_honest()[0], Answer(raw=_HTML)),
             Fails(ApiError, _NOT_JSON, 1 + _retried)),
    HttpCase("page-is-truncated-json", "page that is not JSON", "interactions",
             (Answer(raw=b'[{"total": null, "items": [{"key": "queueName", "val'),),
             Fails(ApiError, _NOT_JSON, _retried)),
    HttpCase("page-is-an-object", "page that is not JSON", "interactions", (Answer(body={"rows": []}),),
             Fails(ApiError, "HTTP 200 with a JSON dict where an array was expected", _retried)),
    HttpCase("empty-body-200", "empty body with 200", "interactions", (Answer(raw=b""),),
             Fails(ApiError, "GET answered HTTP 200 with an empty body on all 3 attempts", _retried)),
    HttpCase("total-elements-higher", "headers disagree with body", "interactions",
             tuple(report_pages(_THREE_ROWS, total_elements=5)),
             Fails(PaginationError, "read 3 rows but X-Total-Elements=5", 2)),
    HttpCase("total-elements-lower", "headers disagree with body", "interactions",
             tuple(report_pages(_THREE_ROWS, total_elements=2)),
             # The client's safety net stops at X-Total-Elements rows; the page count then disagrees.
             Fails(PaginationError, "read 1 non-empty pages but X-Total-Pages=2", 1)),
    HttpCase("total-pages-higher", "headers disagree with body", "interactions",
             tuple(report_pages(_THREE_ROWS, total_pages=3)),
             Fails(PaginationError, "read 2 non-empty pages but X-Total-Pages=3", 2)),
    HttpCase("total-elements-not-a-number", "headers disagree with body", "interactions",
             tuple(_with_header(a, **{"X-Total-Elements": "many"}) for a in _honest()),
             Fails(PaginationError, "header X-Total-Elements='many' is not an integer", 1)),
    HttpCase("totals-change-between-pages", "headers disagree with body", "interactions",
             (_honest()[0], _with_header(_honest()[1], **{"X-Total-Elements": "4"})),
             Fails(PaginationError, "totals changed between pages", 2)),
    HttpCase("cursor-repeats", "repeating cursor or page", "interactions",
             tuple(report_pages([[VALID_INTERACTION_A], [VALID_INTERACTION_B], [VALID_INTERACTION_C]],
                                cursors=["c1", "c1", None])),
             Fails(PaginationError, "returned the same Last-Document-Id cursor twice", 2)),
    HttpCase("cursor-comes-back", "repeating cursor or page", "interactions",
             tuple(report_pages([[VALID_INTERACTION_A], [VALID_INTERACTION_B], [VALID_INTERACTION_C],
                                 [VALID_INTERACTION_D]], cursors=["c1", "c2", "c1", None])),
             Fails(PaginationError, "returned the same Last-Document-Id cursor twice", 3)),
    HttpCase("live-page-is-html", "page that is not JSON", "live", (Answer(raw=_HTML),),
             Fails(ApiError, _NOT_JSON, _retried)),
    HttpCase("live-empty-body-200", "empty body with 200", "live", (Answer(raw=b""),),
             Fails(ApiError, "GET answered HTTP 200 with an empty body on all 3 attempts", _retried)),
    HttpCase("live-without-total-pages", "headers disagree with body", "live",
             (Answer(body=[VALID_AGENT_A, VALID_AGENT_B]),),
             Fails(PaginationError, "realtime /agents answered without X-Total-Pages", 1)),
)  # fmt: skip


def honest_interaction_pages() -> list[Answer]:
    """What a healthy 8x8 answers for the HTTP cases' report: three rows on two pages."""
    return _honest()


def honest_agent_pages() -> list[Answer]:
    return [
        Answer(body=[VALID_AGENT_A], headers={"X-Total-Pages": "2"}),
        Answer(body=[VALID_AGENT_B], headers={"X-Total-Pages": "2"}),
    ]
