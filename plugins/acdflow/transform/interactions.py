"""Interaction rows (``detailed-reports-interaction-details``) → warehouse records.

Implements the product mapping rules (docs/8x8-api-notes.md, “Product rules acdflow reproduces”):
which interactions, timestamp, handled flag, channel, and each interaction's handling time. Pure:
rows in, records out. AHT per interval is computed in the warehouse only, by
``include/sql/interactions/aggregate_aht.sql``.

Order of work for each row (it decides whether a bad row is *filtered* or *rejected*):

1. **Shape** — the row must be ``{"items": [{"key", "value"}, …]}``; otherwise nothing can be read
   and it is rejected.
2. **Product filters** — ``queueName`` non-empty after trimming, then ``direction`` in {InboundDir,
   OutboundDir} (case-insensitive, the filter spellings ``inbound``/``outbound`` too). A row that
   fails them is *filtered* (counted by reason) before anything else is validated, so a non-queued
   row with a corrupt ``queueTime`` is filtered, not rejected. The two fields must still be
   *present*: a missing key means the report was requested without the field, and filtering every
   row silently would hide that, so it is a rejection.
3. **Validation** of what the record needs: ``interactionId``, ``queueTime`` (with an offset),
   ``mediaType`` (one of the four; anything else or null is quarantined — the product page lists
   only four, and the decision for any other is quarantine, not a silent skip),
   ``interactionLabels``, optional ``queueId``, ``transactionId``, ``time``, ``finishedTime``, and —
   only for handled rows, the only ones whose handling time is used — the ``participants`` array.
   Fields the mapping does not read are never validated. Every stored text must fit a PostgreSQL
   index (ids ≤ ``MAX_ID_CHARS``, names and labels ≤ ``MAX_NAME_CHARS`` characters), and when the
   report window is given every time read must lie within 2 days before to 8 days after it (8x8
   reports interactions by creation time, and finishing or wrap-up can come days later).
   A handling time outside [0, 24 h] is not rejected: the interaction still counts in volume, its
   ``handling_ms`` is ``None`` and ``aht_excluded`` counts it under ``implausible_handling_time``.
4. **Duplicates** by ``interactionId`` within the batch (8x8 does not say the id is unique per row;
   none are expected): a later row whose mapped record equals the first is collapsed and counted in
   ``duplicates``; a later row with *different* mapped content is rejected ("duplicate interactionId
   … different content") and the first kept — 8x8 gives nothing to tell which copy is right, and the
   rejection keeps the conflict visible.

Every input row therefore ends up in exactly one of ``records``, ``rejected``, ``filtered`` or
``duplicates``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from acdflow.timewindow import TimestampError, parse_api_timestamp_with_offset
from acdflow.transform.rows import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    RejectedRow,
    RowRejected,
    RowShapeError,
    TimeBounds,
    bounded_text,
    kind_of,
    optional_timestamp,
    required_timestamp,
    row_to_dict,
    short_repr,
)

__all__ = [
    "AHT_IMPLAUSIBLE",
    "AHT_NEGATIVE",
    "AHT_NO_ACCEPTED",
    "AHT_NO_PARTICIPANTS",
    "AHT_ONGOING",
    "FILTER_DIRECTION",
    "FILTER_NO_QUEUE",
    "MAX_HANDLING",
    "TIME_AFTER_WINDOW",
    "TIME_BEFORE_WINDOW",
    "Channel",
    "Direction",
    "InteractionBatch",
    "InteractionRecord",
    "RejectedRow",
    "transform_interactions",
]

Channel = Literal["call", "chat", "email"]
Direction = Literal["inbound", "outbound"]

# The product's channel mapping, matched case-insensitively on the lower-cased mediaType.
_CHANNELS: dict[str, Channel] = {"phone": "call", "chat": "chat", "email": "email", "voicemail": "call"}
# The spelling rows carry (InboundDir) and 8x8's filter spelling (inbound) are both accepted.
_DIRECTIONS: dict[str, Direction] = {
    "inbounddir": "inbound",
    "inbound": "inbound",
    "outbounddir": "outbound",
    "outbound": "outbound",
}

FILTER_NO_QUEUE = "no queueName"
FILTER_DIRECTION = "direction not InboundDir/OutboundDir"

AHT_ONGOING = "ongoing"
AHT_NO_ACCEPTED = "no accepted participant with times"
AHT_NEGATIVE = "negative handling time"
AHT_NO_PARTICIPANTS = "participants not reported"
AHT_IMPLAUSIBLE = "implausible_handling_time"

# No interaction is handled for more than a day: a longer sum comes from a corrupt participant time
# (an offer at epoch 0, say) and would drag the interval's AHT with it.
MAX_HANDLING = timedelta(hours=24)
# How far from the report window an interaction's times may lie (see the module docstring).
TIME_BEFORE_WINDOW = timedelta(days=2)
TIME_AFTER_WINDOW = timedelta(days=8)

_ONE_MS = timedelta(milliseconds=1)
_ID_NUMBER_LIMIT = 10**MAX_ID_CHARS


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One imported interaction, as the warehouse stores it (all instants aware UTC)."""

    interaction_id: str
    queue_id: str | None
    queue_name: str  # as received; the product only requires it to be non-blank
    channel: Channel
    media_type: str  # as received, e.g. "VoiceMail"
    direction: Direction
    queue_time: datetime  # the product's interaction timestamp
    interval_start: datetime  # 15-minute UTC floor of queue_time
    handled: bool
    handling_ms: int | None  # None when not handled or not computable
    finished_time: datetime | None
    ongoing: bool  # finishedTime came with ongoing=true: values may still change
    created_time: datetime | None  # row `time`, the creation time 8x8's dateRange selects on
    transaction_id: str | None
    labels: tuple[str, ...]
    queue_time_offset_minutes: int  # offset 8x8 wrote on queueTime, for time-drift checks


@dataclass(frozen=True, slots=True)
class InteractionBatch:
    """Result of :func:`transform_interactions`; see the module docstring for the accounting."""

    records: list[InteractionRecord]
    rejected: list[RejectedRow]
    filtered: Counter[str] = field(default_factory=Counter)
    aht_excluded: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0


def _optional_id(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if type(value) is str:
        return bounded_text(value, key, MAX_ID_CHARS)
    # Ids are strings in 8x8 rows, but a number is unambiguous. Compared before str(), which
    # refuses integers of over 4 300 digits with an error of its own.
    if type(value) is int:
        if abs(value) >= _ID_NUMBER_LIMIT:
            raise RowRejected(f"{key} longer than {MAX_ID_CHARS} characters")
        return bounded_text(str(value), key, MAX_ID_CHARS)
    raise RowRejected(f"{key} is not a string (got {kind_of(value)})")


def _in_bounds(instant: datetime | None, what: str, bounds: TimeBounds | None) -> datetime | None:
    if instant is None or bounds is None:
        return instant
    return bounds.check(instant, what)


def _time(value: Any, what: str, bounds: TimeBounds | None) -> datetime | None:
    return _in_bounds(optional_timestamp(value, what), what, bounds)


def _finished(value: Any, bounds: TimeBounds | None) -> tuple[datetime | None, bool]:
    """``finishedTime`` is ``{value, ongoing}`` (current docs) or a plain string (an older 8x8 sample)."""
    if value is None or type(value) is str:
        return _time(value, "finishedTime", bounds), False
    if isinstance(value, Mapping):
        ongoing = value.get("ongoing")
        if ongoing is not None and type(ongoing) is not bool:
            raise RowRejected(f"finishedTime.ongoing is not a boolean (got {kind_of(ongoing)})")
        return _time(value.get("value"), "finishedTime", bounds), ongoing is True
    raise RowRejected(f"finishedTime is neither a timestamp nor an object (got {kind_of(value)})")


def _handling_ms(
    fields: Mapping[str, Any], ongoing: bool, bounds: TimeBounds | None
) -> tuple[int | None, str | None]:
    """Handling time of a handled interaction per the product's rule, or ``(None, why it is excluded)``.

    Only the ``participants`` array is used: row-level participant fields are aggregates whose rule
    is undocumented and demonstrably wrong for AHT (in 8x8's own sample the row-level offer action
    time belongs to a timed-out offer; see docs/8x8-api-notes.md, “Row format”). Per accepting
    participant:
    (WrapUpEnd, else HandlingEnd) − OfferActionTime; summed over accepting participants. If any
    accepting participant's time cannot be computed, the whole call is excluded rather than summing
    the rest, because a partial sum would silently understate AHT; likewise one negative participant
    discards the call, and a sum over :data:`MAX_HANDLING` is excluded as implausible.
    """
    participants = fields.get("participants")
    if participants is None:
        return None, AHT_NO_PARTICIPANTS
    if type(participants) is not list:
        raise RowRejected(f"participants is not a list (got {kind_of(participants)})")
    total = 0
    accepted = 0
    open_participant = False
    missing_start = False
    negative = False
    for index, p in enumerate(participants):
        if not isinstance(p, Mapping):
            raise RowRejected(f"participants[{index}] is not an object (got {kind_of(p)})")
        action = p.get("participantOfferAction")
        if action is None:
            continue
        if type(action) is not str:
            raise RowRejected(f"participants[{index}].participantOfferAction is not a string")
        if action.lower() != "accepted":
            continue
        accepted += 1
        start = _time(
            p.get("participantOfferActionTime"), f"participants[{index}].participantOfferActionTime", bounds
        )
        end = _time(
            p.get("participantWrapUpEndTime"), f"participants[{index}].participantWrapUpEndTime", bounds
        )
        if end is None:  # no wrap-up: fall back to the end of handling
            end = _time(
                p.get("participantHandlingEndTime"),
                f"participants[{index}].participantHandlingEndTime",
                bounds,
            )
        if end is None:
            open_participant = True
        elif start is None:
            missing_start = True
        else:
            ms = (end - start) // _ONE_MS
            negative = negative or ms < 0
            total += ms
    if accepted == 0:
        return None, AHT_NO_ACCEPTED
    if ongoing or open_participant:
        return None, AHT_ONGOING
    if missing_start:
        return None, AHT_NO_ACCEPTED
    if negative:
        return None, AHT_NEGATIVE
    if total > MAX_HANDLING // _ONE_MS:
        return None, AHT_IMPLAUSIBLE
    return total, None


def _map_row(
    fields: Mapping[str, Any], bounds: TimeBounds | None
) -> tuple[InteractionRecord, str | None] | str:
    """``(record, AHT exclusion reason)``, or the filter reason for a row the product rules skip.

    Raises ``RowRejected`` for a row that must be quarantined.
    """
    # --- product filters first: a row skipped anyway is never rejected for other fields.
    if "queueName" not in fields:
        raise RowRejected("missing key queueName")
    queue_name = fields["queueName"]
    if queue_name is None:
        return FILTER_NO_QUEUE
    if type(queue_name) is not str:
        raise RowRejected(f"queueName is not a string (got {kind_of(queue_name)})")
    if not queue_name.strip():
        return FILTER_NO_QUEUE
    bounded_text(queue_name, "queueName", MAX_NAME_CHARS)
    if "direction" not in fields:
        raise RowRejected("missing key direction")
    direction_raw = fields["direction"]
    if direction_raw is None:
        return FILTER_DIRECTION
    if type(direction_raw) is not str:
        raise RowRejected(f"direction is not a string (got {kind_of(direction_raw)})")
    direction = _DIRECTIONS.get(direction_raw.lower())
    if direction is None:
        return FILTER_DIRECTION

    # --- validation of everything the record carries.
    if "interactionId" not in fields:
        raise RowRejected("missing key interactionId")
    interaction_id = fields["interactionId"]
    if type(interaction_id) is not str or not interaction_id.strip():
        raise RowRejected(f"interactionId is not a non-empty string (got {short_repr(interaction_id)})")
    bounded_text(interaction_id, "interactionId", MAX_ID_CHARS)

    queue_time, offset = required_timestamp(fields, "queueTime")
    _in_bounds(queue_time, "queueTime", bounds)

    if "mediaType" not in fields:
        raise RowRejected("missing key mediaType")
    media_type = fields["mediaType"]
    if media_type is None:
        raise RowRejected("mediaType is null")
    if type(media_type) is not str:
        raise RowRejected(f"mediaType is not a string (got {kind_of(media_type)})")
    channel = _CHANNELS.get(media_type.lower())
    if channel is None:
        raise RowRejected(f"unknown mediaType {short_repr(media_type)}")

    if "interactionLabels" not in fields:
        raise RowRejected("missing key interactionLabels")
    raw_labels = fields["interactionLabels"]
    if raw_labels is None:
        labels: tuple[str, ...] = ()
    elif type(raw_labels) is list:
        labels = tuple(raw_labels)
        if not all(type(label) is str for label in labels):
            raise RowRejected("interactionLabels contains a non-string")
        for label in labels:
            bounded_text(label, "an interaction label", MAX_NAME_CHARS)
    else:
        raise RowRejected(f"interactionLabels is not a list (got {kind_of(raw_labels)})")
    # Case-insensitive like the other enumerations (harmless, 8x8 writes labels in PascalCase).
    handled = any(label.lower() == "handled" for label in labels)

    queue_id = _optional_id(fields, "queueId")
    transaction_id = _optional_id(fields, "transactionId")
    created_time = _time(fields.get("time"), "time", bounds)
    finished_time, ongoing = _finished(fields.get("finishedTime"), bounds)

    handling_ms: int | None = None
    exclusion: str | None = None
    if handled:
        handling_ms, exclusion = _handling_ms(fields, ongoing, bounds)

    record = InteractionRecord(
        interaction_id=interaction_id,
        queue_id=queue_id,
        queue_name=queue_name,
        channel=channel,
        media_type=media_type,
        direction=direction,
        queue_time=queue_time,
        interval_start=queue_time.replace(
            minute=queue_time.minute - queue_time.minute % 15, second=0, microsecond=0
        ),
        handled=handled,
        handling_ms=handling_ms,
        finished_time=finished_time,
        ongoing=ongoing,
        created_time=created_time,
        transaction_id=transaction_id,
        labels=labels,
        queue_time_offset_minutes=offset,
    )
    return record, exclusion


def _best_time(fields: Mapping[str, Any] | None, bounds: TimeBounds | None) -> datetime | None:
    """UTC instant to place a rejected row in an interval: queueTime, else time, else None.

    A time outside the bounds is no place for it (it would file the row under year 1, say).
    """
    if fields is None:
        return None
    for key in ("queueTime", "time"):
        try:
            instant = parse_api_timestamp_with_offset(fields.get(key))[0]  # type: ignore[arg-type]
        except TimestampError:
            continue
        if bounds is None or bounds.contains(instant):
            return instant
    return None


def _rejection(
    row: Any, fields: Mapping[str, Any] | None, reason: str, bounds: TimeBounds | None
) -> RejectedRow:
    interaction_id = fields.get("interactionId") if fields is not None else None
    usable_id = type(interaction_id) is str and 0 < len(interaction_id) <= MAX_ID_CHARS
    return RejectedRow(
        raw=row,
        reason=reason,
        interaction_id=interaction_id if usable_id else None,
        record_time=_best_time(fields, bounds),
    )


def transform_interactions(
    rows: Iterable[Any], *, window_start: datetime | None = None, window_end: datetime | None = None
) -> InteractionBatch:
    """Map detailed-report rows to :class:`InteractionRecord` per the product's rules.

    Never raises for bad row content: every row lands in exactly one of ``records``, ``rejected``
    (with a specific reason), ``filtered`` (counted by product-rule reason) or ``duplicates``.
    ``aht_excluded`` counts handled records whose handling time is ``None`` (by reason).
    ``window_start``/``window_end`` (aware) are the report's window; given, every time read must
    lie within :data:`TIME_BEFORE_WINDOW` before and :data:`TIME_AFTER_WINDOW` after it.
    """
    bounds = TimeBounds.around(window_start, window_end, TIME_BEFORE_WINDOW, TIME_AFTER_WINDOW)
    records: list[InteractionRecord] = []
    rejected: list[RejectedRow] = []
    filtered: Counter[str] = Counter()
    aht_excluded: Counter[str] = Counter()
    duplicates = 0
    seen: dict[str, InteractionRecord] = {}
    for row in rows:
        try:
            fields = row_to_dict(row)
        except RowShapeError as exc:
            rejected.append(_rejection(row, None, str(exc), bounds))
            continue
        try:
            outcome = _map_row(fields, bounds)
        except RowRejected as exc:
            rejected.append(_rejection(row, fields, exc.reason, bounds))
            continue
        if isinstance(outcome, str):
            filtered[outcome] += 1
            continue
        record, exclusion = outcome
        first = seen.get(record.interaction_id)
        if first is not None:
            if first == record:
                duplicates += 1
            else:
                rejected.append(
                    _rejection(
                        row,
                        fields,
                        "duplicate interactionId in report with different content (first occurrence kept)",
                        bounds,
                    )
                )
            continue
        seen[record.interaction_id] = record
        records.append(record)
        if exclusion is not None:
            aht_excluded[exclusion] += 1
    return InteractionBatch(
        records=records,
        rejected=rejected,
        filtered=filtered,
        aht_excluded=aht_excluded,
        duplicates=duplicates,
    )
