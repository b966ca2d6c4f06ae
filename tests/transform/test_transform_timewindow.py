"""acdflow.timewindow: intervals, request windows (incl. DST), timestamp and duration parsing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acdflow.timewindow import (
    DurationError,
    NaiveTimestampError,
    RequestWindow,
    TimestampError,
    floor_interval,
    format_api_timestamp,
    observed_offset_minutes,
    parse_api_timestamp,
    parse_duration_ms,
    request_window,
)
from tests.transform.transform_testlib import utc

MS = timedelta(milliseconds=1)
ZONES = [
    "UTC",
    "Europe/Helsinki",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Australia/Sydney",
]
# (zone, local date of a DST transition)
DST_DAYS = [
    ("America/Los_Angeles", date(2026, 3, 8)),
    ("America/Los_Angeles", date(2026, 11, 1)),
    ("Europe/Helsinki", date(2026, 3, 29)),
    ("Europe/Helsinki", date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 4, 5)),
    ("Australia/Sydney", date(2026, 10, 4)),
]


# ---- floor_interval -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (utc(2025, 11, 18, 17, 0, 5, 120000), utc(2025, 11, 18, 17, 0)),
        (utc(2025, 11, 18, 17, 14, 59, 999999), utc(2025, 11, 18, 17, 0)),
        (utc(2025, 11, 18, 17, 15), utc(2025, 11, 18, 17, 15)),
        (utc(2025, 11, 18, 23, 59, 59), utc(2025, 11, 18, 23, 45)),
        # An offset input is floored in UTC: 10:07 IST = 04:37Z → 04:30Z (not the local quarter).
        (
            datetime(2026, 1, 10, 10, 7, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            utc(2026, 1, 10, 4, 30),
        ),
    ],
)
def test_floor_interval(ts: datetime, expected: datetime) -> None:
    floored = floor_interval(ts)
    assert floored == expected
    assert floored.tzinfo is UTC


def test_floor_interval_other_lengths_and_errors() -> None:
    assert floor_interval(utc(2025, 1, 1, 10, 59), 60) == utc(2025, 1, 1, 10)
    assert floor_interval(utc(2025, 1, 1, 10, 59), 30) == utc(2025, 1, 1, 10, 30)
    with pytest.raises(ValueError, match="aware"):
        floor_interval(datetime(2025, 1, 1, 10, 59))
    for bad in (0, -15, 7):
        with pytest.raises(ValueError, match="divisor"):
            floor_interval(utc(2025, 1, 1), bad)


# ---- format_api_timestamp -------------------------------------------------------------------


def test_format_api_timestamp() -> None:
    assert format_api_timestamp(datetime(2025, 11, 18, 8, 45)) == "2025-11-18T08:45:00.000Z"
    assert format_api_timestamp(datetime(2025, 11, 18, 9, 14, 59, 999999)) == "2025-11-18T09:14:59.999Z"
    assert format_api_timestamp(datetime(999, 1, 2, 3, 4, 5, 6000)) == "0999-01-02T03:04:05.006Z"
    with pytest.raises(ValueError, match="naive"):
        format_api_timestamp(utc(2025, 11, 18))


# ---- request_window: hand-computed cases ----------------------------------------------------


def test_request_window_los_angeles_winter() -> None:
    # UTC 16:45–17:15 for a Los Angeles tenant (PST) is sent as PST digits.
    w = request_window(utc(2025, 11, 18, 16, 45), utc(2025, 11, 18, 17, 15), "America/Los_Angeles")
    assert w == RequestWindow(
        start="2025-11-18T08:45:00.000Z",
        end="2025-11-18T09:14:59.999Z",
        timezone="America/Los_Angeles",
        covers_start=utc(2025, 11, 18, 16, 45),
        covers_end=utc(2025, 11, 18, 17, 15),
    )


@pytest.mark.parametrize(
    ("tz", "a", "start", "end", "uncorrected_covers_start"),
    [
        # east of UTC, +02:00 in winter
        ("Europe/Helsinki", utc(2026, 1, 10, 10), "2026-01-10T12:00:00.000Z", "2026-01-10T12:14:59.999Z",
         utc(2026, 1, 10, 8)),
        # half-hour offset +05:30
        ("Asia/Kolkata", utc(2026, 1, 10, 4, 30), "2026-01-10T10:00:00.000Z", "2026-01-10T10:14:59.999Z",
         utc(2026, 1, 9, 23)),
        # west, -07:00 in summer
        ("America/Los_Angeles", utc(2026, 7, 1, 3), "2026-06-30T20:00:00.000Z", "2026-06-30T20:14:59.999Z",
         utc(2026, 7, 1, 10)),
        # southern hemisphere summer, +11:00
        ("Australia/Sydney", utc(2026, 1, 10, 0), "2026-01-10T11:00:00.000Z", "2026-01-10T11:14:59.999Z",
         utc(2026, 1, 9, 13)),
        ("UTC", utc(2026, 1, 10, 0), "2026-01-10T00:00:00.000Z", "2026-01-10T00:14:59.999Z",
         utc(2026, 1, 10, 0)),
    ],
)  # fmt: skip
def test_request_window_offsets(
    tz: str, a: datetime, start: str, end: str, uncorrected_covers_start: datetime
) -> None:
    b = a + timedelta(minutes=15)
    w = request_window(a, b, tz)
    assert (w.start, w.end, w.timezone) == (start, end, tz)
    assert (w.covers_start, w.covers_end) == (a, b)

    # The naive (product) behaviour sends the UTC digits; 8x8 reads them as local time, so the
    # window really covered is shifted by the tenant's offset.
    naive = request_window(a, b, tz, correct_quirk=False)
    assert naive.start == format_api_timestamp(a.replace(tzinfo=None))
    assert naive.end == format_api_timestamp((b - MS).replace(tzinfo=None))
    assert naive.covers_start == uncorrected_covers_start
    assert naive.covers_end == uncorrected_covers_start + timedelta(minutes=15)


def test_request_window_fall_back_los_angeles() -> None:
    # 2026-11-01: 01:00–02:00 local happens twice: 08:00–09:00Z (PDT) and 09:00–10:00Z (PST).
    # The second 01:00–01:15: the end digits 01:14:59.999 would be read as the *first* 01:14, an
    # hour early, so the end is widened by an hour.
    w = request_window(utc(2026, 11, 1, 9), utc(2026, 11, 1, 9, 15), "America/Los_Angeles")
    assert (w.start, w.end) == ("2026-11-01T01:00:00.000Z", "2026-11-01T02:14:59.999Z")
    assert (w.covers_start, w.covers_end) == (utc(2026, 11, 1, 8), utc(2026, 11, 1, 10, 15))

    # The first 01:00–01:15: exact under the first-occurrence reading, but if 8x8 read 01:00 as the
    # second occurrence it would start an hour late, so the start is widened too.
    w = request_window(utc(2026, 11, 1, 8), utc(2026, 11, 1, 8, 15), "America/Los_Angeles")
    assert (w.start, w.end) == ("2026-11-01T00:00:00.000Z", "2026-11-01T01:14:59.999Z")
    assert (w.covers_start, w.covers_end) == (utc(2026, 11, 1, 7), utc(2026, 11, 1, 8, 15))


def test_request_window_spring_forward_los_angeles() -> None:
    # 2026-03-08: 02:00 PST jumps to 03:00 PDT at 10:00Z. Local digits of real instants never fall
    # in the gap, so no widening is needed on either side of it.
    w = request_window(utc(2026, 3, 8, 9, 45), utc(2026, 3, 8, 10, 15), "America/Los_Angeles")
    assert (w.start, w.end) == ("2026-03-08T01:45:00.000Z", "2026-03-08T03:14:59.999Z")
    assert (w.covers_start, w.covers_end) == (utc(2026, 3, 8, 9, 45), utc(2026, 3, 8, 10, 15))

    # Uncorrected: UTC digits 02:30 fall in the gap; 8x8 (like Java's atZone) shifts them forward
    # by the gap: 02:30 PST = 03:30 PDT = 10:30Z.
    naive = request_window(utc(2026, 3, 8, 2, 30), utc(2026, 3, 8, 2, 45), "America/Los_Angeles",
                           correct_quirk=False)  # fmt: skip
    assert naive.start == "2026-03-08T02:30:00.000Z"
    assert naive.covers_start == utc(2026, 3, 8, 10, 30)


def test_request_window_fall_back_sydney_and_helsinki() -> None:
    # Sydney 2026-04-05: 03:00 AEDT → 02:00 AEST at 16:00Z on 04-04; 02:00–03:00 local repeats.
    w = request_window(utc(2026, 4, 4, 16, 30), utc(2026, 4, 4, 16, 45), "Australia/Sydney")
    assert (w.start, w.end) == ("2026-04-05T02:30:00.000Z", "2026-04-05T03:44:59.999Z")
    assert w.covers_start <= utc(2026, 4, 4, 16, 30)
    assert w.covers_end >= utc(2026, 4, 4, 16, 45)
    # Helsinki 2026-10-25: 04:00 EEST → 03:00 EET at 01:00Z; 03:00–04:00 local repeats.
    w = request_window(utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 1, 15), "Europe/Helsinki")
    assert (w.start, w.end) == ("2026-10-25T03:00:00.000Z", "2026-10-25T04:14:59.999Z")
    assert (w.covers_start, w.covers_end) == (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 15))


def test_request_window_sub_millisecond_bounds_are_still_covered() -> None:
    a = utc(2026, 1, 10, 10, 0, 0, 400)
    b = utc(2026, 1, 10, 10, 15, 0, 500)
    w = request_window(a, b, "Europe/Helsinki")
    assert (w.start, w.end) == ("2026-01-10T12:00:00.000Z", "2026-01-10T12:15:00.000Z")
    assert w.covers_start <= a
    assert w.covers_end >= b


def test_request_window_errors() -> None:
    with pytest.raises(ValueError, match="aware"):
        request_window(datetime(2026, 1, 1), utc(2026, 1, 2), "UTC")
    with pytest.raises(ValueError, match="aware"):
        request_window(utc(2026, 1, 1), datetime(2026, 1, 2), "UTC")
    with pytest.raises(ValueError, match="empty window"):
        request_window(utc(2026, 1, 1), utc(2026, 1, 1), "UTC")
    for bad in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(ValueError, match="time zone"):
            request_window(utc(2026, 1, 1), utc(2026, 1, 2), bad)


# ---- request_window: every 15-minute window over DST days ----------------------------------


def _windows_around(tz: str, day: date) -> Iterator[tuple[datetime, datetime]]:
    """Every 15-minute UTC window from 12 h before the local day to 12 h after it."""
    zi = ZoneInfo(tz)
    first = datetime.combine(day, datetime.min.time(), zi).astimezone(UTC) - timedelta(hours=12)
    last = datetime.combine(day + timedelta(days=1), datetime.min.time(), zi).astimezone(UTC) + timedelta(
        hours=12
    )
    a = first
    while a < last:
        yield a, a + timedelta(minutes=15)
        a += timedelta(minutes=15)


def _digits(value: str) -> datetime:
    assert value.endswith("Z")
    return datetime.fromisoformat(value[:-1])


@pytest.mark.parametrize(("tz", "day"), DST_DAYS, ids=[f"{tz}-{day}" for tz, day in DST_DAYS])
def test_every_window_on_dst_days_is_covered(tz: str, day: date) -> None:
    zi = ZoneInfo(tz)
    widened = 0
    for a, b in _windows_around(tz, day):
        w = request_window(a, b, tz)
        assert w.covers_start <= a, (a, w)
        assert w.covers_end >= b, (b, w)
        # Independently of covers_*: whichever occurrence 8x8 picks for a repeated or missing
        # wall-clock time, the sent digits still cover [a, b) (end inclusive at ms precision).
        for fold in (0, 1):
            assert _digits(w.start).replace(tzinfo=zi, fold=fold).astimezone(UTC) <= a
            assert _digits(w.end).replace(tzinfo=zi, fold=fold).astimezone(UTC) >= b - MS
        # Widening is at most one hour per side.
        assert a - w.covers_start <= timedelta(hours=1)
        assert w.covers_end - b <= timedelta(hours=1)
        widened += (w.covers_start, w.covers_end) != (a, b)
    # Only windows touching the repeated hour are widened (4 quarter-hours x 2 occurrences at most).
    assert widened <= 8


@pytest.mark.parametrize("tz", ZONES)
def test_windows_on_ordinary_days_are_exact(tz: str) -> None:
    for a, b in _windows_around(tz, date(2026, 6, 15)):
        w = request_window(a, b, tz)
        assert (w.covers_start, w.covers_end) == (a, b)
        local = a.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        assert w.start == format_api_timestamp(local)


def test_two_hour_dst_shift_is_covered() -> None:
    # Antarctica/Troll switches between +00:00 and +02:00: its repeated span is two hours long.
    a = utc(2026, 10, 25, 0, 30)  # 02:30 +02:00, repeated later as 02:30 +00:00
    w = request_window(a, a + timedelta(minutes=15), "Antarctica/Troll")
    assert w.covers_start <= a
    assert w.covers_end >= a + timedelta(minutes=15)


@settings(max_examples=300, deadline=None)
@given(
    a=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)),
    minutes=st.integers(min_value=1, max_value=24 * 60 * 3),
    tz=st.sampled_from(
        [*ZONES, "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "Antarctica/Troll"]
    ),
)
def test_request_window_always_covers(a: datetime, minutes: int, tz: str) -> None:
    b = a + timedelta(minutes=minutes)
    w = request_window(a, b, tz)
    assert w.covers_start <= a
    assert w.covers_end >= b
    naive = request_window(a, b, tz, correct_quirk=False)
    assert naive.start == format_api_timestamp(
        a.replace(tzinfo=None, microsecond=a.microsecond // 1000 * 1000)
    )


# ---- parse_api_timestamp / observed_offset_minutes -----------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "offset"),
    [
        ("2025-11-18T09:00:05.120-08:00", utc(2025, 11, 18, 17, 0, 5, 120000), -480),
        ("2023-07-03T16:02:27.576+03:00", utc(2023, 7, 3, 13, 2, 27, 576000), 180),
        ("2022-12-16T16:28:08.013Z", utc(2022, 12, 16, 16, 28, 8, 13000), 0),
        ("2022-12-16T16:28:08Z", utc(2022, 12, 16, 16, 28, 8), 0),
        ("2022-08-29T00:00-04:00", utc(2022, 8, 29, 4, 0), -240),
        ("2019-05-01T00:00+01:00", utc(2019, 4, 30, 23, 0), 60),
        ("2026-01-10T10:07:00.000+05:30", utc(2026, 1, 10, 4, 37), 330),
    ],
)
def test_parse_api_timestamp(value: str, expected: datetime, offset: int) -> None:
    parsed = parse_api_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC
    assert observed_offset_minutes(value) == offset


def test_parse_api_timestamp_requires_an_offset() -> None:
    with pytest.raises(NaiveTimestampError, match="no UTC offset"):
        parse_api_timestamp("2025-11-18T09:00:05.120")
    with pytest.raises(NaiveTimestampError):
        observed_offset_minutes("2022-08-29T00:00")


@pytest.mark.parametrize(
    "value",
    [
        "not-a-date",
        "",
        "2025-11-18",  # date only
        "20251118T090005Z",  # basic format
        "2025-W47-2T09:00Z",  # week date
        "2025-11-18 09:00:05Z",  # space separator
        "2025-11-18T25:00:00Z",
        "2025-11-18T09:00:05+0800",  # offset without colon
        "2025-11-18T09:00:05+08",
        "2025-11-18T09:00:05z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_parse_api_timestamp_rejects(value: str) -> None:
    with pytest.raises(TimestampError) as info:
        parse_api_timestamp(value)
    # Only a well-formed timestamp that merely lacks its offset gets the specific "no offset" error.
    assert not isinstance(info.value, NaiveTimestampError)


@pytest.mark.parametrize("value", [None, 1700000000000, 1.5, ["2025-11-18T09:00:05Z"], {"value": "x"}])
def test_parse_api_timestamp_rejects_non_strings(value: object) -> None:
    with pytest.raises(TimestampError, match="string"):
        parse_api_timestamp(value)  # type: ignore[arg-type]


def test_timestamp_errors_are_value_errors() -> None:
    assert issubclass(TimestampError, ValueError)
    assert issubclass(NaiveTimestampError, TimestampError)
    assert issubclass(DurationError, ValueError)


@settings(max_examples=500, deadline=None)
@given(
    st.text(max_size=40) | st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)?")
)
def test_parse_api_timestamp_never_raises_anything_else(value: str) -> None:
    try:
        parsed = parse_api_timestamp(value)
    except TimestampError:
        return
    assert parsed.tzinfo is UTC


# ---- parse_duration_ms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"value": 147657, "ongoing": False}, 147657),
        ({"value": 0, "ongoing": True}, 0),
        ({"value": None, "ongoing": True}, None),
        ({"value": "0:01:19", "ongoing": False}, 79_000),
        ("0:01:19", 79_000),
        ("0:00:41", 41_000),
        ("26:00:05", 93_605_000),
        ("123:59:59", 446_399_000),
        (245611272, 245611272),
        (29947.4, 29947),
        (29947.5, 29948),
        (0.5, 0),  # half-even
        ("12717886", 12717886),
        ("1797000.0", 1797000),
        (None, None),
    ],
)
def test_parse_duration_ms(value: object, expected: int | None) -> None:
    assert parse_duration_ms(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        -5,
        -0.5 - 1,
        float("nan"),
        float("inf"),
        "",
        "abc",
        "1:2:3",
        "0:60:00",
        "0:00:60",
        "-1:00:00",
        "1:00",
        "0:01:19.5",
        "１２",  # full-width digits
        "1_000",
        " 12",
        [1000],
        {"ongoing": False},
        {"value": {"value": 1}},
        {"value": "soon"},
    ],
)
def test_parse_duration_ms_rejects(value: object) -> None:
    with pytest.raises(DurationError):
        parse_duration_ms(value)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda inner: (
            st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["value", "ongoing"]), inner)
        ),
        max_leaves=4,
    )
)
def test_parse_duration_ms_never_raises_anything_else(value: object) -> None:
    try:
        result = parse_duration_ms(value)
    except DurationError:
        return
    assert result is None or (type(result) is int and result >= 0)
