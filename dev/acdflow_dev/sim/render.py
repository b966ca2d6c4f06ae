"""Turning model records into report rows (docs/8x8-api-notes.md, “Row format”).

Two layers: ``*_values`` give typed raw values per field (used by ``searchQuery``), ``render_*``
turn them into the JSON items of a detailed row. Interactions are viewed *as of*
an instant: for an interaction still running then (only with ``showOngoingInteractions``) anything
after that instant is null and open durations run to it with ``ongoing: true``.

Row-level aggregation of participant fields (8x8 does not document it and its own sample is
inconsistent; these are the simulator's choices):
0 participants → null; 1 → that participant's values (identity fields and ``wrapUp*`` as arrays);
≥ 2 → ``participantAssignNumber`` max, offer/assign/offer-action times earliest, handling-end and
wrap-up-end times latest, durations and counts summed (``participantLongest*`` = max), identity
fields (``participantId``, ``participantName``, ``participantType``, ``participantOfferAction``) and
the enumerations ``participantAssignReason``, ``participantHandlingOutcome``, ``participantGroupId``,
``participantGroupName`` as arrays of distinct values in reverse assignment order, ``wrapUp*``
concatenated in assignment order. Interaction-level counts that live in the participant objects
(transfers, conferences, consultations) follow the same rule, so they are null without participants.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _encode_str
from typing import cast
from zoneinfo import ZoneInfo

from acdflow_dev.sim.agentstatus import StatusEvent, camel
from acdflow_dev.sim.catalog import (
    INTERACTION_FIELD_MAP,
    PARTICIPANT_KEYS,
    PARTICIPANTS_LABEL,
    FieldSpec,
)
from acdflow_dev.sim.interactions import Interaction, Participant
from acdflow_dev.sim.rng import rng_for, token
from acdflow_dev.sim.timefmt import format_hms, format_naive_local, format_offset_ts, local_ms_of_day
from acdflow_dev.sim.world import FIRST_NAMES, LAST_NAMES, OUTBOUND_PHONE_CODES

Duration = tuple[int, bool]
JSON = object

_LATEST = frozenset({"participantHandlingEndTime", "participantWrapUpEndTime"})
_EARLIEST = frozenset({"participantOfferTime", "participantOfferActionTime", "participantAssignTime"})
_LIST_FIELDS = frozenset(
    {
        "participantId",
        "participantName",
        "participantType",
        "participantOfferAction",
        "participantAssignReason",
        "participantHandlingOutcome",
        "participantGroupId",
        "participantGroupName",
    }
)
_IDENTITY = frozenset({"participantId", "participantName", "participantType", "participantOfferAction"})
_WRAP_FIELDS = (
    "wrapUpCode",
    "wrapUpCodeId",
    "wrapUpCodeList",
    "wrapUpCodeListId",
    "wrapUpCodeText",
    "wrapUpShortCode",
)
_PLAIN_INT_DURATIONS = frozenset(
    {"participantHoldDuration", "participantLongestHoldDuration", "participantFocusDuration",
     "participantLongestFocusDuration"}
)  # fmt: skip


@dataclass(frozen=True)
class RenderOptions:
    tz: ZoneInfo
    legacy_durations: bool
    status_case: str
    seed: int


def _dur(start: int | None, end: int | None, as_of: int, open_end: bool) -> Duration | None:
    if start is None:
        return None
    if end is not None:
        return (end - start, False)
    if open_end:
        return (max(0, as_of - start), True)
    return None


def _sum_durations(*values: Duration | None) -> Duration | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return (sum(v[0] for v in present), any(v[1] for v in present))


def participant_values(p: Participant, as_of: int) -> dict[str, object]:
    """Typed values of one participant as of ``as_of`` (the participant was offered by then)."""

    def at(ms: int | None) -> int | None:
        return ms if ms is not None and ms <= as_of else None

    action_ms = at(p.action_ms)
    handling_end = at(p.handling_end_ms) if p.accepted else None
    wrap_end = at(p.wrap_end_ms) if p.accepted else None
    offer_d = _dur(p.offer_ms, action_ms, as_of, True)
    handling_d = _dur(action_ms, handling_end, as_of, True) if p.accepted else None
    wrap_d = _dur(handling_end, wrap_end, as_of, p.wrap_end_ms is not None) if p.accepted else None
    code = p.wrap_code if wrap_end is not None else None
    outcome: str | None = None
    if p.accepted and handling_end is not None:
        outcome = "WrapUp" if p.wrap_end_ms is not None else "Finished"
    return {
        "participantAssignNumber": p.number,
        "participantType": "Agent",
        "participantId": p.agent.agent_id,
        "participantName": p.agent.name,
        "participantOfferTime": p.offer_ms,
        "participantOfferAction": p.action if action_ms is not None else None,
        "participantOfferActionTime": action_ms,
        "participantOfferDuration": offer_d,
        "participantHandlingEndTime": handling_end,
        "participantHandlingDuration": handling_d,
        "participantWrapUpEndTime": wrap_end,
        "participantWrapUpDuration": wrap_d,
        "participantProcessingDuration": _sum_durations(handling_d, wrap_d),
        "participantBusyDuration": _sum_durations(offer_d, handling_d, wrap_d),
        "participantFocus": p.focus_count,
        "participantFocusDuration": (p.focus_ms, False),
        "participantLongestFocusDuration": (p.longest_focus_ms, False),
        "warmTransfersCompleted": p.warm_transfers,
        "blindTransferToAgent": p.blind_to_agent,
        "blindTransferToQueue": p.blind_to_queue,
        "consultationsEstablished": 0,
        "conferencesEstablished": 0,
        "participantHold": p.hold_count,
        "participantHoldDuration": (p.hold_ms, False),
        "participantLongestHoldDuration": (p.longest_hold_ms, False),
        "wrapUpCode": [code.name] if code else [],
        "wrapUpCodeId": [code.item_id] if code else [],
        "wrapUpCodeList": [code.list_name] if code else [],
        "wrapUpCodeListId": [code.list_id] if code else [],
        "wrapUpCodeText": [code.text] if code else [],
        "wrapUpShortCode": [code.short_code] if code else [],
        # Row-level only (8x8 does not list these keys in a participants object):
        "participantAssignReason": p.assign_reason,
        "participantAssignTime": p.offer_ms,
        "participantGroupId": p.agent.group.group_id,
        "participantGroupName": p.agent.group.name,
        "participantHandlingOutcome": outcome,
        "participantMute": 0,
        "participantMuteDuration": (0, False),
        "participantLongestMuteDuration": (0, False),
        "participantPark": 0,
        "participantParkDuration": (0, False),
        "participantComments": None,
    }


def _aggregate(key: str, values: list[object]) -> object:
    if key in _WRAP_FIELDS:
        out: list[object] = []
        for v in values:
            assert isinstance(v, list)
            out.extend(v)
        return out
    if key in _LIST_FIELDS:
        if len(values) == 1 and key not in _IDENTITY:
            return values[0]
        distinct: list[object] = []
        for v in reversed(values):
            if v is not None and v not in distinct:
                distinct.append(v)
        return distinct
    if len(values) == 1:
        return values[0]
    present = [v for v in values if v is not None]
    if key == "participantAssignNumber":
        return max(int(v) for v in present)  # type: ignore[call-overload]
    if key in _EARLIEST:
        return min(present) if present else None  # type: ignore[type-var]
    if key in _LATEST:
        return max(present) if present else None  # type: ignore[type-var]
    if key == "participantComments":
        return None
    if not present:
        return None
    if isinstance(present[0], tuple):
        durations = [v for v in present if isinstance(v, tuple)]
        if key.startswith("participantLongest"):
            return (max(d[0] for d in durations), any(d[1] for d in durations))
        return _sum_durations(*durations)
    return sum(int(v) for v in present)  # type: ignore[call-overload]


_PARTICIPANT_ROW_KEYS = tuple(
    k
    for k in INTERACTION_FIELD_MAP
    if k.startswith("participant")
    or k in _WRAP_FIELDS
    or k in ("warmTransfersCompleted", "blindTransferToAgent", "blindTransferToQueue",
             "consultationsEstablished", "conferencesEstablished")
)  # fmt: skip


_SINGLE_IDENTITY = tuple(k for k in _PARTICIPANT_ROW_KEYS if k in _IDENTITY)
_SINGLE_AS_IS = tuple(k for k in _PARTICIPANT_ROW_KEYS if k not in _IDENTITY and k not in _WRAP_FIELDS)
assert len(_SINGLE_IDENTITY) + len(_SINGLE_AS_IS) + len(_WRAP_FIELDS) == len(_PARTICIPANT_ROW_KEYS)


_COSMETIC_FIELDS = frozenset(
    {
        "agentNotes",
        "customerEmail",
        "customerName",
        "customerPhone",
        "destination",
        "journeyId",
        "origination",
        "outboundPhoneCode",
        "outboundPhoneCodeId",
        "outboundPhoneCodeList",
        "outboundPhoneCodeListId",
        "outboundPhoneCodeText",
        "outboundPhoneShortCode",
        "subject",
    }
)


@lru_cache(maxsize=256)
def _participant_row_keys(fields: frozenset[str]) -> tuple[str, ...]:
    return tuple(key for key in _PARTICIPANT_ROW_KEYS if key in fields)


def _state(ix: Interaction, as_of: int, parts: list[Participant]) -> str:
    if ix.finished_ms <= as_of:
        return "Finished"
    if ix.queue_time_ms is None or ix.queue_time_ms > as_of:
        return "InScript"
    for p in reversed(parts):
        if p.accepted and p.action_ms <= as_of:
            if p.handling_end_ms is not None and p.handling_end_ms <= as_of:
                return "InWrapUp"
            return "Handling"
    return "WaitingInQueue"


def interaction_values(
    ix: Interaction, as_of: int, opts: RenderOptions, fields: frozenset[str] | None = None
) -> dict[str, object]:
    """Typed value of every interaction field; ``participants`` holds the per-participant dicts.

    With ``fields``, only those are sure to be present: the cosmetic fields (drawn from an RNG of
    their own) and the row-level participant aggregates are left out when none of them is asked
    for, which is most of the cost of a row and none of the fields acdflow reads.
    """
    finished = ix.finished_ms <= as_of
    parts = [p for p in ix.participants if p.offer_ms <= as_of]
    pvalues = [participant_values(p, as_of) for p in parts]
    queue = ix.queue
    qt = ix.queue_time_ms if ix.queue_time_ms is not None and ix.queue_time_ms <= as_of else None
    first_accept = next((p.action_ms for p in parts if p.accepted and p.action_ms <= as_of), None)
    wait: Duration | None = None
    if qt is not None:
        if first_accept is not None:
            wait = (first_accept - qt, False)
        elif ix.abandon_ms is not None and ix.abandon_ms <= as_of:
            wait = (ix.abandon_ms - qt, False)
        else:
            wait = (max(0, as_of - qt), True)
    ends = [ix.abandon_ms or 0, *(p.handling_end_ms or p.action_ms for p in ix.participants)]
    core_end = max(e for e in ends if e is not None)
    media = ix.media
    agent_name = ix.participants[0].agent.name if ix.participants else None
    values: dict[str, object] = {
        "campaignId": None,
        "campaignName": None,
        "caseFollowUp": None,
        "caseNumber": "0",
        "channelId": queue.channel_id if queue else ("18005550100" if ix.kind == "direct_in" else None),
        "channelName": queue.channel_name if queue else None,
        "chatType": "WebChat" if media == "Chat" else None,
        "creationTime": ix.time_ms,
        "customerJourneyDuration": (ix.finished_ms - ix.time_ms, False)
        if finished
        else (as_of - ix.time_ms, True),
        "destinationQueueId": queue.queue_id if queue else None,
        "destinationQueueName": queue.name if queue else None,
        "direction": ix.direction,
        "dispositionAction": None,
        "externalTransactionData": None,
        "facebookId": None,
        "finishedTime": (ix.finished_ms, False) if finished else (None, True),
        "interactionDuration": (core_end - ix.time_ms, False) if finished else (as_of - ix.time_ms, True),
        "interactionId": ix.interaction_id,
        "interactionLabels": [label for label, at in ix.labels if at <= as_of],
        "interactionType": ix.interaction_type,
        "ivrTreatmentDuration": (
            (ix.queue_time_ms - ix.time_ms, False)
            if qt is not None and ix.queue_time_ms is not None
            else ((ix.finished_ms - ix.time_ms, False) if ix.kind == "ivr_end" and finished else None)
        ),
        "mediaType": media,
        "originalInteractionId": None,
        "originalTransactionId": None,
        "outcome": ix.outcome if finished else None,
        "queueId": queue.queue_id if queue else None,
        "queueName": queue.name if queue else None,
        "queueTime": qt,
        "queueWaitDuration": wait,
        "recordId": None,
        "recordingFileNames": (
            f"rec-{ix.interaction_id[4:15]}-1.wav" if media == "Phone" and first_accept is not None else None
        ),
        "scheduleHours": "Open" if 7 <= local_ms_of_day(ix.time_ms, opts.tz) // 3_600_000 < 20 else "Closed",
        "state": _state(ix, as_of, parts),
        "terminatedBy": ix.terminated_by if finished else None,
        "time": ix.time_ms,
        "timeToAbandon": (
            (ix.abandon_ms - ix.queue_time_ms, False)
            if ix.abandon_ms is not None and ix.queue_time_ms is not None and ix.abandon_ms <= as_of
            else None
        ),
        "transactionId": str(ix.seq),
        "transfers": ix.transfers if finished or (ix.transfers and len(parts) > 1) else None,
        "twitterId": None,
        "participants": pvalues,
    }
    if fields is None or not fields.isdisjoint(_COSMETIC_FIELDS):
        # Drawn in this order whatever is asked for, so each field keeps its value.
        cosmetic = rng_for(opts.seed, ix.tenant_id, ix.interaction_id, "cosmetic")
        customer = f"{cosmetic.choice(FIRST_NAMES)} {cosmetic.choice(LAST_NAMES)}"
        phone = f"1{cosmetic.randrange(200, 999)}555{cosmetic.randrange(1000, 9999)}"
        email = f"{customer.lower().replace(' ', '.')}@example.org"
        outbound_code = OUTBOUND_PHONE_CODES[cosmetic.randrange(2)] if (
            ix.direction == "OutboundDir" and media == "Phone") else None  # fmt: skip
        notes = cosmetic.random() < 0.1 and parts
        journey = "jrn-" + token(cosmetic, 20)
        subject = f"Question about order {cosmetic.randrange(10000, 99999)}" if media == "Email" else None
        values["agentNotes"] = "Customer asked for a callback" if notes else None
        values["customerEmail"] = email if media in ("Email", "Chat") else None
        values["customerName"] = customer if ix.kind not in ("internal",) else None
        values["customerPhone"] = phone if media in ("Phone", "VoiceMail") and ix.kind != "internal" else None
        values["destination"] = (
            phone if ix.direction == "OutboundDir" else (queue.name if queue else agent_name)
        )
        values["journeyId"] = journey
        values["origination"] = (
            agent_name
            if ix.direction != "InboundDir"
            else {"Phone": phone, "VoiceMail": phone, "Chat": customer, "Email": email}[media]
        )
        values["outboundPhoneCode"] = outbound_code.name if outbound_code else None
        values["outboundPhoneCodeId"] = outbound_code.item_id if outbound_code else None
        values["outboundPhoneCodeList"] = outbound_code.list_name if outbound_code else None
        values["outboundPhoneCodeListId"] = outbound_code.list_id if outbound_code else None
        values["outboundPhoneCodeText"] = outbound_code.text if outbound_code else None
        values["outboundPhoneShortCode"] = outbound_code.short_code if outbound_code else None
        values["subject"] = subject
    if fields is not None:
        for key in _participant_row_keys(fields):
            values[key] = _aggregate(key, [pv[key] for pv in pvalues]) if pvalues else None
    elif len(pvalues) == 1:
        # What _aggregate makes of one participant, without its per-key dispatch.
        only = pvalues[0]
        for key in _SINGLE_AS_IS:
            values[key] = only[key]
        for key in _WRAP_FIELDS:
            values[key] = list(only[key])  # type: ignore[call-overload]
        for key in _SINGLE_IDENTITY:
            value = only[key]
            values[key] = [] if value is None else [value]
    else:
        for key in _PARTICIPANT_ROW_KEYS:
            values[key] = _aggregate(key, [pv[key] for pv in pvalues]) if pvalues else None
    return values


def agent_status_values(event: StatusEvent, opts: RenderOptions) -> dict[str, object]:
    code = event.code
    status = camel(event.status) if opts.status_case == "camel" else event.status
    return {
        "agent": event.agent.name,
        "agentGroup": event.agent.group.name,
        "agentGroupId": event.agent.group.group_id,
        "agentId": event.agent.agent_id,
        "interactionId": event.interaction_id,
        "status": status,
        "statusCode": code.name if code else None,
        "statusCodeId": code.item_id if code else None,
        "statusCodeList": code.list_name if code else None,
        "statusCodeListId": code.list_id if code else None,
        "statusCodeShortCode": code.short_code if code else None,
        "statusCodeText": code.text if code else None,
        "time": event.time_ms,
        "transactionId": event.transaction_id,
    }


def _duration_json(value: object, opts: RenderOptions) -> JSON:
    if value is None:
        return None
    assert isinstance(value, tuple)
    ms, ongoing = value
    if opts.legacy_durations:
        return format_hms(ms)
    return {"value": ms, "ongoing": ongoing}


def render_value(spec: FieldSpec, value: object, opts: RenderOptions) -> JSON:
    """Row-level JSON of one typed value."""
    fmt = spec.fmt
    if fmt == "T":
        return None if value is None else format_offset_ts(int(value), opts.tz)  # type: ignore[call-overload]
    if fmt == "F":
        assert isinstance(value, tuple)
        ms, ongoing = value
        text = None if ms is None else format_offset_ts(ms, opts.tz)
        if opts.legacy_durations:
            return text
        return {"value": text, "ongoing": ongoing}
    if fmt == "D":
        return _duration_json(value, opts)
    if fmt == "N":
        return None if value is None else str(value)
    return value


def render_participant(pv: dict[str, object], opts: RenderOptions) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    for key in PARTICIPANT_KEYS:
        value = pv[key]
        spec = INTERACTION_FIELD_MAP[key]
        if spec.fmt == "T":
            out[key] = None if value is None else format_offset_ts(int(value), opts.tz)  # type: ignore[call-overload]
        elif spec.fmt == "D":
            if key in _PLAIN_INT_DURATIONS:
                out[key] = None if value is None else value[0]  # type: ignore[index]
            else:
                out[key] = _duration_json(value, opts)
        else:
            out[key] = value
    return out


def order_keys(keys: list[str], *, include_participants: bool) -> list[str]:
    """Item order of a row, as in 8x8's samples: ``participants``, ``time``, then alphabetical."""
    unique = sorted(set(keys) - {"time", "participants"})
    head = (["participants"] if include_participants else []) + (["time"] if "time" in keys else [])
    return head + unique


def render_row(
    values: dict[str, object],
    keys: list[str],
    field_map: dict[str, FieldSpec],
    opts: RenderOptions,
    *,
    include_participants: bool,
    malformation: str | None = None,
) -> dict[str, JSON]:
    items: list[dict[str, JSON]] = []
    for key in order_keys(keys, include_participants=include_participants):
        if key == "participants":
            parts = values["participants"]
            assert isinstance(parts, list)
            items.append(
                {
                    "key": key,
                    "label": PARTICIPANTS_LABEL,
                    "value": [render_participant(p, opts) for p in parts],
                }
            )
            continue
        spec = field_map[key]
        items.append({"key": key, "label": spec.label, "value": render_value(spec, values[key], opts)})
    if malformation is not None:
        items = malform(items, malformation, values, opts)
    return {"total": None, "items": items}


_MISSING_CHOICES = ("queueTime", "mediaType", "direction")
INVALID_DATE = "Invalid date"


def malform(
    items: list[dict[str, JSON]], kind: str, values: dict[str, object], opts: RenderOptions
) -> list[dict[str, JSON]]:
    """Apply a malformation to a rendered row (see ``acdflow_dev.sim.faults``)."""
    record = str(values.get("interactionId") or values.get("agentId") or "")
    edits: dict[str, Callable[[JSON], JSON]] = {}
    drop: set[str] = set()
    if kind == "missing_keys":
        drop.add(_MISSING_CHOICES[sum(map(ord, record)) % len(_MISSING_CHOICES)])
    elif kind == "bad_timestamp":
        edits["queueTime"] = lambda _v: INVALID_DATE
    elif kind == "naive_timestamp":
        qt = values.get("queueTime")
        edits["queueTime"] = lambda _v: None if qt is None else format_naive_local(int(qt), opts.tz)  # type: ignore[call-overload]
    elif kind == "unknown_media":
        edits["mediaType"] = lambda _v: "Fax"
    elif kind == "null_queue":
        edits["queueName"] = lambda _v: None
        edits["queueId"] = lambda _v: None
    elif kind == "missing_agent_id":
        drop.add("agentId")
    elif kind == "bad_time":
        edits["time"] = lambda _v: INVALID_DATE
    out: list[dict[str, JSON]] = []
    for item in items:
        key = str(item["key"])
        if key in drop:
            continue
        if key in edits:
            item = {**item, "value": edits[key](item["value"])}
        out.append(item)
    return out


def missing_key_for(record_id: str) -> str:
    """Which item a ``missing_keys`` malformation drops for a record (for the ground truth)."""
    return _MISSING_CHOICES[sum(map(ord, record_id)) % len(_MISSING_CHOICES)]


# -- direct JSON -------------------------------------------------------------------------------------
#
# ``render_row`` builds a dict per item and ``json.dumps`` walks them: most of the cost of a cold
# page. ``RowEncoder`` writes the same text (``json.dumps`` defaults: ``", "`` and ``": "``
# separators, ASCII escapes) straight from the typed values, with each item's constant head
# (key and label) encoded once per report variant. Malformed rows keep the reference path.


def _json(value: object) -> str:
    """``json.dumps(value)`` for the value types of report rows (others are delegated to it)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _encode_str(value)  # type: ignore[arg-type]
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is list:
        return "[" + ", ".join([_json(item) for item in value]) + "]"  # type: ignore[attr-defined]
    return json.dumps(value)


def _duration_text(value: object, legacy: bool) -> str:
    if value is None:
        return "null"
    ms, ongoing = cast(Duration, value)
    if legacy:
        return _encode_str(format_hms(ms))
    return '{"value": ' + _json(ms) + ', "ongoing": ' + ("true" if ongoing else "false") + "}"


def _timestamp_text(value: object, tz: ZoneInfo) -> str:
    return "null" if value is None else _encode_str(format_offset_ts(int(value), tz))  # type: ignore[call-overload]


_PARTICIPANT_PLAN: tuple[tuple[str, str, str], ...] = tuple(
    (
        key,
        _encode_str(key) + ": ",
        "T"
        if INTERACTION_FIELD_MAP[key].fmt == "T"
        else ("I" if key in _PLAIN_INT_DURATIONS else "D")
        if INTERACTION_FIELD_MAP[key].fmt == "D"
        else "G",
    )
    for key in PARTICIPANT_KEYS
)


class RowEncoder:
    """JSON text of ``render_row`` for one report variant (field set, participants, options)."""

    def __init__(
        self,
        keys: list[str],
        field_map: dict[str, FieldSpec],
        opts: RenderOptions,
        *,
        include_participants: bool,
    ) -> None:
        self.opts = opts
        self._items: list[tuple[str, str, str]] = []
        for key in order_keys(keys, include_participants=include_participants):
            label = PARTICIPANTS_LABEL if key == "participants" else field_map[key].label
            head = '{"key": ' + _encode_str(key) + ', "label": ' + _encode_str(label) + ', "value": '
            # "X" is the participants item; every format without special rendering is "G".
            fmt = "X" if key == "participants" else field_map[key].fmt
            self._items.append((key, head, fmt if fmt in ("T", "F", "D", "N", "X") else "G"))

    def encode(self, values: dict[str, object]) -> str:
        tz = self.opts.tz
        legacy = self.opts.legacy_durations
        parts: list[str] = []
        append = parts.append
        for key, head, fmt in self._items:
            value = values[key]
            if fmt == "G":
                text = _json(value)
            elif fmt == "T":
                text = _timestamp_text(value, tz)
            elif fmt == "D":
                text = _duration_text(value, legacy)
            elif fmt == "N":
                text = "null" if value is None else _encode_str(str(value))
            elif fmt == "F":
                stamp_ms, ongoing = cast(tuple[int | None, bool], value)
                stamp = _timestamp_text(stamp_ms, tz)
                text = (
                    stamp
                    if legacy
                    else '{"value": ' + stamp + ', "ongoing": ' + ("true" if ongoing else "false") + "}"
                )
            else:
                text = "[" + ", ".join([self._participant(pv) for pv in value]) + "]"  # type: ignore[attr-defined]
            append(head + text + "}")
        return '{"total": null, "items": [' + ", ".join(parts) + "]}"

    def _participant(self, pv: dict[str, object]) -> str:
        tz = self.opts.tz
        legacy = self.opts.legacy_durations
        parts: list[str] = []
        append = parts.append
        for key, head, kind in _PARTICIPANT_PLAN:
            value = pv[key]
            if kind == "G":
                append(head + _json(value))
            elif kind == "T":
                append(head + _timestamp_text(value, tz))
            elif kind == "I":
                append(head + ("null" if value is None else _json(value[0])))  # type: ignore[index]
            else:
                append(head + _duration_text(value, legacy))
        return "{" + ", ".join(parts) + "}"
