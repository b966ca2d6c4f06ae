"""Interaction mapping (the product rules) against the example payloads in ``data/`` and hand cases.

AHT per interval is SQL only; ``test_interval_aht_sql`` tests it through the warehouse.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from acdflow.transform.interactions import (
    AHT_NEGATIVE,
    AHT_NO_ACCEPTED,
    AHT_NO_PARTICIPANTS,
    AHT_ONGOING,
    FILTER_DIRECTION,
    FILTER_NO_QUEUE,
    InteractionBatch,
    InteractionRecord,
    transform_interactions,
)
from tests.transform.transform_testlib import OMIT, interaction, load, participant, utc


def only_record(batch: InteractionBatch) -> InteractionRecord:
    assert not batch.rejected, batch.rejected
    assert len(batch.records) == 1, batch
    return batch.records[0]


def one(**overrides: Any) -> InteractionRecord:
    return only_record(transform_interactions([interaction(**overrides)]))


def reason_for(**overrides: Any) -> str:
    batch = transform_interactions([interaction(**overrides)])
    assert not batch.records, batch
    assert len(batch.rejected) == 1, batch
    return batch.rejected[0].reason


# ---- example payloads -----------------------------------------------------------------------


def test_example_pages() -> None:
    rows = load("interactions_page1.json") + load("interactions_page2.json")
    batch = transform_interactions(rows)
    assert batch.rejected == []
    assert batch.duplicates == 0
    # Page 2's direct outbound call has no queueName: the product rules skip it.
    assert batch.filtered == {FILTER_NO_QUEUE: 1}
    assert batch.aht_excluded == {}
    chat, call = batch.records

    assert chat.interaction_id.endswith("-chat-01-analyticsna12prod01")
    assert chat.channel == "chat"
    assert chat.queue_time == utc(2025, 11, 18, 17, 2, 12, 345000)
    assert chat.interval_start == utc(2025, 11, 18, 17, 0)
    assert chat.handled is False
    assert chat.handling_ms is None
    assert chat.queue_name == "Chat EN"
    assert chat.queue_id == "415"
    assert chat.direction == "inbound"
    assert chat.finished_time == utc(2025, 11, 18, 17, 4, 40, 2000)
    assert chat.queue_time_offset_minutes == -480

    assert call.channel == "call"
    assert call.media_type == "Phone"
    assert call.queue_time == utc(2025, 11, 18, 17, 0, 5, 120000)
    assert call.handled is True
    # Accepted participant Sam Okafor: 09:07:00.300 − 09:00:41.250. The row-level fields would give
    # 09:07:00.300 − 09:00:35.012 = 385 288 ms, which is wrong: the row-level offer action time is
    # the timed-out first offer's.
    assert call.handling_ms == 379_050
    assert call.handling_ms != 385_288
    assert call.transaction_id == "48213"
    assert call.labels == ("Queued", "OfferingTimeout", "Handled")


def test_item_order_does_not_matter() -> None:
    rows = load("interactions_page1.json")
    expected = transform_interactions(rows).records
    rng = random.Random(7)
    for _ in range(5):
        shuffled = [{**r, "items": rng.sample(r["items"], len(r["items"]))} for r in rows]
        assert transform_interactions(shuffled).records == expected


def test_labels_are_ignored_only_keys_matter() -> None:
    rows = load("interactions_page1.json")
    relabelled = [
        {"total": None, "items": [{**i, "label": "Zz " + i["label"]} for i in r["items"]]} for r in rows
    ]
    assert transform_interactions(relabelled).records == transform_interactions(rows).records


# ---- product filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"queueName": None}, FILTER_NO_QUEUE),
        ({"queueName": ""}, FILTER_NO_QUEUE),
        ({"queueName": " \t "}, FILTER_NO_QUEUE),
        ({"direction": None}, FILTER_DIRECTION),
        ({"direction": "Internal"}, FILTER_DIRECTION),
        ({"direction": ""}, FILTER_DIRECTION),
        ({"direction": "InboundDirX"}, FILTER_DIRECTION),
        # filtered before anything else is validated: bad timestamps / media / ids do not matter
        ({"queueName": None, "queueTime": "not-a-date", "mediaType": "Fax"}, FILTER_NO_QUEUE),
        ({"queueName": None, "queueTime": OMIT, "interactionId": OMIT}, FILTER_NO_QUEUE),
        ({"direction": "Internal", "queueTime": "2025-11-18T09:00:00", "mediaType": None}, FILTER_DIRECTION),
        # a row failing both filters is counted once, under the first
        ({"queueName": None, "direction": None}, FILTER_NO_QUEUE),
    ],
)
def test_filtered_rows(overrides: dict[str, Any], reason: str) -> None:
    batch = transform_interactions([interaction(**overrides)])
    assert batch.records == []
    assert batch.rejected == []
    assert batch.filtered == {reason: 1}


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("InboundDir", "inbound"),
        ("OutboundDir", "outbound"),
        ("inbounddir", "inbound"),
        ("OUTBOUNDDIR", "outbound"),
        ("inbound", "inbound"),  # 8x8's filter spelling
        ("Outbound", "outbound"),
    ],
)
def test_directions(direction: str, expected: str) -> None:
    assert one(direction=direction).direction == expected


def test_queue_name_is_kept_as_received() -> None:
    assert one(queueName=" Support EN ").queue_name == " Support EN "


# ---- timestamp: queueTime -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue_time", "expected_utc", "interval"),
    [
        ("2025-11-18T09:14:59.999-08:00", utc(2025, 11, 18, 17, 14, 59, 999000), utc(2025, 11, 18, 17, 0)),
        ("2025-11-18T09:15:00.000-08:00", utc(2025, 11, 18, 17, 15), utc(2025, 11, 18, 17, 15)),
        ("2026-01-10T10:07:00.000+05:30", utc(2026, 1, 10, 4, 37), utc(2026, 1, 10, 4, 30)),
        ("2026-03-29T03:59:59.000+02:00", utc(2026, 3, 29, 1, 59, 59), utc(2026, 3, 29, 1, 45)),
        ("2026-11-01T01:30:00.000-08:00", utc(2026, 11, 1, 9, 30), utc(2026, 11, 1, 9, 30)),
        ("2026-11-01T01:30:00.000-07:00", utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 8, 30)),
        ("2025-11-18T17:00:05.120Z", utc(2025, 11, 18, 17, 0, 5, 120000), utc(2025, 11, 18, 17, 0)),
    ],
)
def test_queue_time_in_utc_and_interval(queue_time: str, expected_utc: Any, interval: Any) -> None:
    r = one(queueTime=queue_time)
    assert r.queue_time == expected_utc
    assert r.interval_start == interval


def test_time_is_not_the_interaction_timestamp() -> None:
    r = one(time="2025-11-18T08:44:00.000-08:00", queueTime="2025-11-18T08:46:00.000-08:00")
    assert r.interval_start == utc(2025, 11, 18, 16, 45)
    assert r.created_time == utc(2025, 11, 18, 16, 44)


# ---- handled flag ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "handled"),
    [
        (["Queued", "Handled"], True),
        (["Queued", "OfferingTimeout", "Handled"], True),
        (["queued", "handled"], True),
        (["Queued", "Dequeued"], False),
        (["Queued", "Abandoned"], False),
        ([], False),
        (None, False),
        (["HandledElsewhere"], False),
    ],
)
def test_handled_flag(labels: list[str] | None, handled: bool) -> None:
    r = one(interactionLabels=labels)
    assert r.handled is handled
    if not handled:
        assert r.handling_ms is None


# ---- channel --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "channel"),
    [
        ("Phone", "call"),
        ("Chat", "chat"),
        ("Email", "email"),
        ("VoiceMail", "call"),
        ("voicemail", "call"),
        ("PHONE", "call"),
        ("email", "email"),
    ],
)
def test_channel_mapping(media: str, channel: str) -> None:
    r = one(mediaType=media)
    assert r.channel == channel
    assert r.media_type == media


def test_outbound_voicemail_and_email_are_imported() -> None:
    rows = [
        interaction(interactionId="a", direction="OutboundDir", mediaType="Phone"),
        interaction(interactionId="b", mediaType="VoiceMail", interactionLabels=["Queued"]),
        interaction(interactionId="c", mediaType="Email"),
    ]
    batch = transform_interactions(rows)
    assert [(r.interaction_id, r.direction, r.channel) for r in batch.records] == [
        ("a", "outbound", "call"),
        ("b", "inbound", "call"),
        ("c", "inbound", "email"),
    ]


# ---- handling time --------------------------------------------------------------------------


def test_handling_time_is_wrap_up_end_minus_offer_action() -> None:
    # 09:00:00.000 → wrap-up end 09:06:00.000 = 360 000 ms (handling end 09:05 is not used).
    assert one().handling_ms == 360_000


def test_handling_time_falls_back_to_handling_end_without_wrap_up() -> None:
    r = one(participants=[participant(wrap_up_end=None)])
    assert r.handling_ms == 300_000


def test_handling_time_sums_accepting_participants_only() -> None:
    ps = [
        participant(action="OfferTimeout", offer_action="2025-11-18T08:59:00.000-08:00", handling_end=None,
                    wrap_up_end=None),
        participant(offer_action="2025-11-18T09:00:00.000-08:00",
                    handling_end="2025-11-18T09:01:00.000-08:00",
                    wrap_up_end="2025-11-18T09:01:30.500-08:00"),  # 90 500
        participant(action="Rejected", offer_action="2025-11-18T09:01:40.000-08:00"),
        participant(action="accepted", offer_action="2025-11-18T09:02:00.000-08:00",
                    handling_end="2025-11-18T09:04:00.250-08:00", wrap_up_end=None),  # 120 250, no wrap-up
    ]  # fmt: skip
    assert one(participants=ps).handling_ms == 90_500 + 120_250


def test_handling_time_ignores_row_level_participant_fields() -> None:
    r = one(
        participantOfferActionTime="2025-11-18T08:00:00.000-08:00",
        participantWrapUpEndTime="2025-11-18T10:00:00.000-08:00",
        participantOfferAction=["Accepted"],
    )
    assert r.handling_ms == 360_000


def test_handling_time_across_offsets_is_exact() -> None:
    # Same instants written with different offsets (the API always uses one, but parsing must not care).
    p = participant(offer_action="2025-11-18T17:00:00.000Z", wrap_up_end="2025-11-18T09:00:01.001-08:00")
    assert one(participants=[p]).handling_ms == 1_001


def test_zero_handling_time_is_kept() -> None:
    p = participant(wrap_up_end="2025-11-18T09:00:00.000-08:00")
    assert one(participants=[p]).handling_ms == 0


@pytest.mark.parametrize(
    ("overrides", "exclusion"),
    [
        # accepted but neither wrap-up nor handling end: still ongoing
        ({"participants": [participant(handling_end=None, wrap_up_end=None)]}, AHT_ONGOING),
        # the interaction itself is flagged ongoing
        ({"finishedTime": {"value": None, "ongoing": True}}, AHT_ONGOING),
        # one of two accepting participants still open: no partial sum
        ({"participants": [participant(), participant(handling_end=None, wrap_up_end=None)]}, AHT_ONGOING),
        ({"participants": []}, AHT_NO_ACCEPTED),
        ({"participants": [participant(action="OfferTimeout")]}, AHT_NO_ACCEPTED),
        ({"participants": [participant(action=None)]}, AHT_NO_ACCEPTED),
        ({"participants": [participant(offer_action=None)]}, AHT_NO_ACCEPTED),
        ({"participants": [participant(wrap_up_end="2025-11-18T08:59:59.999-08:00")]}, AHT_NEGATIVE),
        ({"participants": [participant(wrap_up_end=None, handling_end="2025-11-18T08:00:00.000-08:00")]},
         AHT_NEGATIVE),
        # a negative participant discards the call even if the total would be positive
        ({"participants": [participant(), participant(wrap_up_end="2025-11-18T08:59:00.000-08:00")]},
         AHT_NEGATIVE),
        ({"participants": None}, AHT_NO_PARTICIPANTS),
        ({"participants": OMIT}, AHT_NO_PARTICIPANTS),
    ],
)  # fmt: skip
def test_aht_exclusions(overrides: dict[str, Any], exclusion: str) -> None:
    batch = transform_interactions([interaction(**overrides)])
    r = only_record(batch)
    assert r.handled is True
    assert r.handling_ms is None
    assert batch.aht_excluded == {exclusion: 1}


def test_unhandled_rows_have_no_handling_time_and_are_not_counted_as_excluded() -> None:
    batch = transform_interactions(
        [interaction(interactionLabels=["Queued", "Abandoned"], participants="garbage-not-read")]
    )
    r = only_record(batch)
    assert r.handled is False
    assert r.handling_ms is None
    assert batch.aht_excluded == {}


def test_finished_time_formats() -> None:
    assert one(finishedTime="2025-11-18T09:06:10.801-08:00").finished_time == utc(
        2025, 11, 18, 17, 6, 10, 801000
    )
    r = one(finishedTime={"value": "2025-11-18T09:06:10.801-08:00", "ongoing": False})
    assert r.finished_time == utc(2025, 11, 18, 17, 6, 10, 801000)
    assert r.ongoing is False
    assert one(finishedTime=None).finished_time is None
    assert one(finishedTime=OMIT).finished_time is None


def test_optional_ids() -> None:
    r = one(queueId=None, transactionId=OMIT)
    assert (r.queue_id, r.transaction_id) == (None, None)
    assert one(queueId=412).queue_id == "412"


# ---- rejections -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"queueTime": OMIT}, "missing key queueTime"),
        ({"queueTime": None}, "queueTime is null"),
        ({"queueTime": "not-a-date"}, "unparseable queueTime 'not-a-date'"),
        ({"queueTime": "2025-11-18T09:00:05.120"}, "queueTime has no UTC offset ('2025-11-18T09:00:05.120')"),
        ({"queueTime": 1763485205120}, "queueTime is not a timestamp string (got int)"),
        ({"mediaType": "Fax"}, "unknown mediaType 'Fax'"),
        ({"mediaType": "SMS"}, "unknown mediaType 'SMS'"),
        ({"mediaType": None}, "mediaType is null"),
        ({"mediaType": OMIT}, "missing key mediaType"),
        ({"mediaType": ["Phone"]}, "mediaType is not a string (got array)"),
        ({"interactionId": OMIT}, "missing key interactionId"),
        ({"interactionId": None}, "interactionId is not a non-empty string (got None)"),
        ({"interactionId": "  "}, "interactionId is not a non-empty string (got '  ')"),
        ({"queueName": OMIT}, "missing key queueName"),
        ({"queueName": 412}, "queueName is not a string (got int)"),
        ({"direction": OMIT}, "missing key direction"),
        ({"direction": ["InboundDir"]}, "direction is not a string (got array)"),
        ({"interactionLabels": OMIT}, "missing key interactionLabels"),
        ({"interactionLabels": "Handled"}, "interactionLabels is not a list (got str)"),
        ({"interactionLabels": ["Queued", None]}, "interactionLabels contains a non-string"),
        ({"queueId": {"id": 1}}, "queueId is not a string (got object)"),
        ({"time": "yesterday"}, "unparseable time 'yesterday'"),
        ({"finishedTime": {"value": "x", "ongoing": False}}, "unparseable finishedTime 'x'"),
        ({"finishedTime": {"value": None, "ongoing": "yes"}},
         "finishedTime.ongoing is not a boolean (got str)"),
        ({"finishedTime": 5}, "finishedTime is neither a timestamp nor an object (got int)"),
        ({"participants": "none"}, "participants is not a list (got str)"),
        ({"participants": [None]}, "participants[0] is not an object (got null)"),
        ({"participants": [participant(action=["Accepted"])]},
         "participants[0].participantOfferAction is not a string"),
        ({"participants": [participant(), participant(offer_action="soon")]},
         "unparseable participants[1].participantOfferActionTime 'soon'"),
        ({"participants": [participant(wrap_up_end="2025-11-18T09:06:00")]},
         "participants[0].participantWrapUpEndTime has no UTC offset ('2025-11-18T09:06:00')"),
    ],
)  # fmt: skip
def test_rejection_reasons(overrides: dict[str, Any], reason: str) -> None:
    assert reason_for(**overrides) == reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "row is not an object (got null)"),
        ([], "row is not an object (got array)"),
        ("row", "row is not an object (got str)"),
        ({"total": None}, "row has no 'items'"),
        ({"items": None}, "items is not a list (got null)"),
        ({"items": {"key": "queueName"}}, "items is not a list (got object)"),
        ({"items": [1]}, "items[0] is not an object (got int)"),
        ({"items": [{"label": "Queue Name", "value": "x"}]}, "items[0] has no string 'key'"),
        ({"items": [{"key": 5, "value": "x"}]}, "items[0] has no string 'key'"),
        ({"items": [{"key": "queueName", "label": "Queue Name"}]}, "items[0] (queueName) has no 'value'"),
        (
            {"items": [{"key": "queueName", "value": "a"}, {"key": "queueName", "value": "a"}]},
            "key queueName appears twice in items",
        ),
    ],
)
def test_malformed_rows_are_rejected_with_reason(raw: Any, reason: str) -> None:
    batch = transform_interactions([raw])
    assert batch.records == []
    assert [(r.raw, r.reason) for r in batch.rejected] == [(raw, reason)]
    assert batch.rejected[0].raw is raw


def test_valid_rows_survive_bad_neighbours() -> None:
    good1 = interaction(interactionId="g1")
    good2 = interaction(interactionId="g2", mediaType="Chat")
    bad_fax = interaction(interactionId="b1", mediaType="Fax", queueTime="2025-11-18T09:20:00.000-08:00")
    bad_time = interaction(interactionId="b2", queueTime="not-a-date", time="2025-11-18T09:31:00.000-08:00")
    bad_both = interaction(interactionId="b3", queueTime="x", time=None)
    skipped = interaction(interactionId="s1", queueName=None)
    rows: list[Any] = [good1, None, bad_fax, skipped, bad_time, good2, bad_both, {"items": 3}]
    batch = transform_interactions(rows)
    assert [r.interaction_id for r in batch.records] == ["g1", "g2"]
    assert [(r.interaction_id, r.record_time) for r in batch.rejected] == [
        (None, None),
        ("b1", utc(2025, 11, 18, 17, 20)),  # placed by queueTime
        ("b2", utc(2025, 11, 18, 17, 31)),  # queueTime unusable: placed by time
        ("b3", None),
        (None, None),
    ]
    assert batch.rejected[1].raw is bad_fax
    assert batch.filtered == {FILTER_NO_QUEUE: 1}
    assert len(batch.records) + len(batch.rejected) + sum(batch.filtered.values()) == len(rows)


# ---- duplicates -----------------------------------------------------------------------------


def test_identical_duplicates_collapse_and_are_counted() -> None:
    a = interaction(interactionId="x")
    shuffled = {"total": None, "items": list(reversed(a["items"]))}
    batch = transform_interactions([a, interaction(interactionId="y"), shuffled, a])
    assert [r.interaction_id for r in batch.records] == ["x", "y"]
    assert batch.duplicates == 2
    assert batch.rejected == []


def test_conflicting_duplicate_keeps_first_and_rejects_the_other() -> None:
    first = interaction(interactionId="x", interactionLabels=["Queued"])
    second = interaction(interactionId="x", interactionLabels=["Queued", "Handled"])
    batch = transform_interactions([first, second])
    r = only_record(InteractionBatch(records=batch.records, rejected=[]))
    assert r.handled is False
    assert batch.duplicates == 0
    assert [(x.raw, x.interaction_id) for x in batch.rejected] == [(second, "x")]
    assert batch.rejected[0].reason == (
        "duplicate interactionId in report with different content (first occurrence kept)"
    )


def test_duplicate_after_a_rejected_copy_is_imported() -> None:
    broken = interaction(interactionId="x", queueTime="garbage")
    fine = interaction(interactionId="x")
    batch = transform_interactions([broken, fine])
    assert [r.interaction_id for r in batch.records] == ["x"]
    assert len(batch.rejected) == 1
    assert batch.duplicates == 0


def test_unmapped_fields_do_not_make_a_duplicate_conflict() -> None:
    a = interaction(interactionId="x", outcome="Handled")
    b = interaction(interactionId="x", outcome="UnknownOutcome")
    batch = transform_interactions([a, b])
    assert len(batch.records) == 1
    assert batch.duplicates == 1


def test_generator_input_is_consumed_once() -> None:
    batch = transform_interactions(interaction(interactionId=str(i)) for i in range(3))
    assert len(batch.records) == 3


def test_rejection_reason_survives_unprintable_values() -> None:
    huge = 10**5000  # repr() refuses ints this long; the reason must still be produced
    assert (
        reason_for(interactionId=huge)
        == "interactionId is not a non-empty string (got <int too large to show>)"
    )
