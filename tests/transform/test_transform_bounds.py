"""Every stored field is bounded: text that fits an index, times near the report window, handling
times a call can have, numbers that are numbers. Each bad row is judged alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from acdflow.transform.agent_status import LiveSkip, live_status_from_agent, transform_status_events
from acdflow.transform.interactions import transform_interactions
from acdflow.transform.rows import MAX_ID_CHARS, MAX_NAME_CHARS, MAX_STATUS_CHARS, TimeBounds
from tests.transform.transform_testlib import agent, interaction, participant, status_row, utc

# A 15-minute report window: 2025-11-18 17:00-17:15 UTC (09:00-09:15 in Los Angeles).
WINDOW = {"window_start": utc(2025, 11, 18, 17, 0), "window_end": utc(2025, 11, 18, 17, 15)}
# Worst-case bytes PostgreSQL may need for one B-tree index entry of text (4-byte UTF-8 characters).
INDEX_TUPLE_LIMIT = 2704
INTEGRATION_NAME_CHARS = 40  # NAME_PATTERN in acdflow.config


def test_longest_keys_fit_a_btree_entry_in_worst_case_utf8() -> None:
    # interval_aht (integration, interval_start, queue_name, channel): 8-byte timestamp, "email".
    assert INTEGRATION_NAME_CHARS + 8 + 4 * MAX_NAME_CHARS + 5 + 64 < INDEX_TUPLE_LIMIT
    # agent_status_live_log (integration, agent_id, start_time, "status (code)").
    status_name_chars = 2 * MAX_STATUS_CHARS + 3
    assert INTEGRATION_NAME_CHARS + 4 * MAX_ID_CHARS + 8 + 4 * status_name_chars + 64 < INDEX_TUPLE_LIMIT


def _one(rows: list[Any], **window: datetime) -> tuple[list[str], list[str]]:
    batch = transform_interactions(rows, **window)
    return [r.interaction_id for r in batch.records], [x.reason for x in batch.rejected]


@pytest.mark.parametrize(
    ("field", "limit"),
    [("interactionId", MAX_ID_CHARS), ("queueId", MAX_ID_CHARS), ("transactionId", MAX_ID_CHARS),
     ("queueName", MAX_NAME_CHARS)],
)  # fmt: skip
def test_interaction_text_longer_than_its_limit_is_quarantined(field: str, limit: int) -> None:
    at_limit = interaction(**{"interactionId": "ok", field: "é" * limit})
    over = interaction(**{"interactionId": "bad", field: "é" * (limit + 1)})
    loaded, reasons = _one([at_limit, over], **WINDOW)
    assert len(loaded) == 1
    assert reasons == [f"{field} longer than {limit} characters"]


def test_a_huge_numeric_id_kept_as_text_is_quarantined_and_a_small_one_loads() -> None:
    # The client keeps number literals over 40 characters as their text.
    rows = [interaction(interactionId="a", queueId=412), interaction(interactionId="b", queueId="9" * 5000)]
    batch = transform_interactions(rows, **WINDOW)
    assert [(r.interaction_id, r.queue_id) for r in batch.records] == [("a", "412")]
    assert [(x.reason, x.interaction_id) for x in batch.rejected] == [
        ("queueId longer than 256 characters", "b")
    ]


def test_an_integer_id_of_thousands_of_digits_is_quarantined_not_raised() -> None:
    batch = transform_interactions([interaction(transactionId=10**5000)], **WINDOW)
    assert [x.reason for x in batch.rejected] == ["transactionId longer than 256 characters"]


def test_rejected_over_long_id_is_not_carried_as_the_record_id() -> None:
    batch = transform_interactions([interaction(interactionId="x" * 300)], **WINDOW)
    assert [(x.reason, x.interaction_id) for x in batch.rejected] == [
        ("interactionId longer than 256 characters", None)
    ]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"queueTime": "2025-11-16T08:59:59.999-08:00"},
         "queueTime 2025-11-16T16:59:59.999000+00:00 is more than 2 days before the report window"),
        ({"time": "2025-11-26T09:15:00.001-08:00"},
         "time 2025-11-26T17:15:00.001000+00:00 is more than 8 days after the report window"),
        ({"participants": [participant(handling_end="0001-01-01T00:00:00Z", wrap_up_end=None)]},
         "participants[0].participantHandlingEndTime 0001-01-01T00:00:00+00:00 is more than 2 days before "
         "the report window"),
    ],
    ids=["queueTime-just-too-early", "time-just-too-late", "handling-end-year-1"],
)  # fmt: skip
def test_interaction_time_outside_the_widened_window_is_quarantined(
    overrides: dict[str, Any], reason: str
) -> None:
    loaded, reasons = _one([interaction(interactionId="bad", **overrides)], **WINDOW)
    assert (loaded, reasons) == ([], [reason])


def test_interaction_times_at_the_edges_of_the_widened_window_load() -> None:
    row = interaction(queueTime="2025-11-16T09:00:00.000-08:00", time="2025-11-26T09:15:00.000-08:00")
    batch = transform_interactions([row], **WINDOW)
    assert [r.queue_time for r in batch.records] == [utc(2025, 11, 16, 17, 0)]
    assert batch.rejected == []


def test_a_rejected_row_far_from_the_window_is_not_filed_under_its_absurd_time() -> None:
    row = interaction(queueTime="0001-01-01T00:00:00Z", time="1970-01-01T00:00:00Z")
    (rejection,) = transform_interactions([row], **WINDOW).rejected
    assert rejection.record_time is None
    # Without bounds to judge by, the parsed time is kept as before.
    (unbounded,) = transform_interactions([interaction(time="yesterday")]).rejected
    assert unbounded.record_time == utc(2025, 11, 18, 16, 59, 58)


@pytest.mark.parametrize(
    ("offer", "expected_ms", "excluded"),
    [
        ("2025-11-17T09:06:00.000-08:00", 24 * 3_600_000, {}),  # exactly a day: still plausible
        ("2025-11-17T09:05:59.999-08:00", None, {"implausible_handling_time": 1}),
    ],
    ids=["one-day", "one-day-and-a-ms"],
)
def test_handling_time_over_a_day_is_emptied_and_counted(
    offer: str, expected_ms: int | None, excluded: dict[str, int]
) -> None:
    # Wrap-up ends 2025-11-18T09:06:00-08:00 (the builder's default).
    batch = transform_interactions([interaction(participants=[participant(offer_action=offer)])], **WINDOW)
    assert [(r.handled, r.handling_ms) for r in batch.records] == [(True, expected_ms)]
    assert dict(batch.aht_excluded) == excluded
    assert batch.rejected == []


def test_without_a_window_absurd_participant_times_still_yield_no_handling_time() -> None:
    # Year 1 to 2025: 63 billion seconds, which would overflow the interval's numeric(14,3) AHT.
    row = interaction(participants=[participant(offer_action="0001-01-01T00:00:00Z")])
    batch = transform_interactions([row])
    assert [r.handling_ms for r in batch.records] == [None]
    assert dict(batch.aht_excluded) == {"implausible_handling_time": 1}


def test_window_must_be_whole_and_aware() -> None:
    with pytest.raises(ValueError, match="together"):
        transform_interactions([], window_start=utc(2025, 11, 18))
    with pytest.raises(ValueError, match="aware"):
        transform_status_events([], window_start=datetime(2025, 11, 18), window_end=utc(2025, 11, 18, 1))


def test_time_bounds_compare_extreme_instants_without_overflow() -> None:
    bounds = TimeBounds.around(
        datetime(2025, 11, 18, 9, tzinfo=timezone(timedelta(hours=-8))),
        utc(2025, 11, 18, 17, 15),
        timedelta(days=2),
        timedelta(days=8),
    )
    assert bounds is not None
    assert bounds.window_start == utc(2025, 11, 18, 17, 0)
    assert not bounds.contains(datetime.min.replace(tzinfo=UTC))
    assert not bounds.contains(datetime.max.replace(tzinfo=UTC))
    assert bounds.contains(utc(2025, 11, 26, 17, 15))
    assert not bounds.contains(utc(2025, 11, 26, 17, 15, 0, 1))


# ---- agent status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [("agentId", MAX_ID_CHARS), ("agent", MAX_NAME_CHARS), ("status", MAX_STATUS_CHARS),
     ("statusCode", MAX_STATUS_CHARS)],
)  # fmt: skip
def test_status_text_longer_than_its_limit_is_quarantined(field: str, limit: int) -> None:
    base = {"time": "2025-11-18T09:07:00.000-08:00"}
    at_limit = status_row(**{**base, "agentId": "agOk", field: "é" * limit})
    over = status_row(**{**base, "agentId": "agBad", field: "é" * (limit + 1)})
    batch = transform_status_events([at_limit, over], **WINDOW)
    assert len(batch.events) == 1
    assert [x.reason for x in batch.rejected] == [f"{field} longer than {limit} characters"]


@pytest.mark.parametrize(
    ("time", "loaded"),
    [
        ("2025-11-18T09:07:00.000+14:00", True),  # local time with a +14 h offset: drift, not corruption
        ("2025-11-18T09:07:00.000-12:00", True),
        ("2025-11-16T09:00:00.000-08:00", True),  # exactly 2 days before the window
        ("2025-11-16T08:59:59.999-08:00", False),
        ("2025-11-20T09:15:00.001-08:00", False),
        ("9999-06-30T00:00:00.000Z", False),
    ],
)
def test_status_time_within_two_days_of_the_window_loads(time: str, loaded: bool) -> None:
    batch = transform_status_events([status_row(time=time)], **WINDOW)
    assert (len(batch.events), len(batch.rejected)) == ((1, 0) if loaded else (0, 1))
    if not loaded:
        assert "is more than 2 days" in batch.rejected[0].reason
        assert batch.rejected[0].record_time is None


def test_live_duration_of_thousands_of_digits_is_skipped_not_raised() -> None:
    metrics = {
        "status.rt": "Available",
        "lastLogin.rt": "2025-11-18T16:28:08.013Z",
        "loggedInTime.rt": "9" * 5000,  # a number literal the client kept as text
        "timeOnStatus.rt": 0,
    }
    skip = live_status_from_agent(agent(metrics, id="agX"), utc(2025, 11, 18, 20, 30))
    assert isinstance(skip, LiveSkip)
    assert skip.agent_id == "agX"
    assert skip.reason.startswith("loggedInTime.rt is not a whole number of milliseconds")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_live_duration_that_is_not_a_number_is_skipped(literal: str) -> None:
    metrics = {
        "status.rt": "Available",
        "lastLogin.rt": "2025-11-18T16:28:08.013Z",
        "loggedInTime.rt": 1000,
        "timeOnStatus.rt": literal,
    }
    skip = live_status_from_agent(agent(metrics, id="agX"), utc(2025, 11, 18, 20, 30))
    assert isinstance(skip, LiveSkip)
    assert skip.reason == f"timeOnStatus.rt is not a whole number of milliseconds ({literal!r})"
