"""8x8's time-zone quirk (``dateRange`` read as tenant-local wall clock), DST offsets in returned
timestamps, and DST reading rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.clock import from_ms
from acdflow_dev.sim.timefmt import parse_date_range_value

from .helpers import INTERACTIONS, Api, body, items, parse_ts

LA = ZoneInfo("America/Los_Angeles")


def _times(api: Api, start: str, end: str, **extra: object) -> list[datetime]:
    report = api.create_id(body(INTERACTIONS, start, end, metrics=["time"], **extra))
    return [parse_ts(items(r)["time"]) for r in api.all_rows(report)[0]]


def test_quirk_reads_digits_as_report_zone_wall_clock(api: Api) -> None:
    times = _times(api, "2026-03-10T08:00:00.000Z", "2026-03-10T08:59:59.999Z")
    assert times
    # PDT (-07:00): 08:00 local = 15:00Z.
    assert min(times) >= datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert max(times) < datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    # The offset on the request is ignored too.
    assert _times(api, "2026-03-10T08:00:00.000+05:00", "2026-03-10T08:59:59.999-03:00") == times
    utc_zone = _times(api, "2026-03-10T15:00:00.000Z", "2026-03-10T15:59:59.999Z", timezone="UTC")
    assert utc_zone == times


def test_without_quirk_instants_are_honoured() -> None:
    sim = Simulator(SimConfig.single(seed=7, quirk=False, now=datetime(2026, 3, 10, 20, tzinfo=UTC)))
    with sim.serve() as server:
        api = Api(server.base_url)
        times = _times(api, "2026-03-10T08:00:00.000Z", "2026-03-10T08:59:59.999Z")
        assert times
        assert min(times) >= datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
        assert max(times) < datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
        shifted = _times(api, "2026-03-10T01:00:00.000-07:00", "2026-03-10T01:59:59.999-07:00")
        assert shifted == times


def test_both_ends_are_inclusive(api: Api) -> None:
    times = _times(api, "2026-03-10T08:00:00.000Z", "2026-03-10T08:59:59.999Z")
    first, last = min(times), max(times)
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    start = first.astimezone(LA).strftime(fmt)[:-3] + "Z"
    end = last.astimezone(LA).strftime(fmt)[:-3] + "Z"
    assert sorted(_times(api, start, end)) == sorted(times)


@pytest.mark.parametrize(
    ("zone", "before", "after", "offsets"),
    [
        ("America/Los_Angeles", "2026-03-07T12:00:00.000Z", "2026-03-09T12:00:00.000Z", ("-08:00", "-07:00")),
        ("America/Los_Angeles", "2026-10-31T12:00:00.000Z", "2026-11-02T12:00:00.000Z", ("-07:00", "-08:00")),
        ("Australia/Sydney", "2026-04-04T12:00:00.000Z", "2026-04-06T12:00:00.000Z", ("+11:00", "+10:00")),
        ("Australia/Sydney", "2026-10-03T12:00:00.000Z", "2026-10-05T12:00:00.000Z", ("+10:00", "+11:00")),
    ],
)
def test_dst_offsets_in_returned_timestamps(
    zone: str, before: str, after: str, offsets: tuple[str, str]
) -> None:
    region = "au" if zone.startswith("Australia") else "us"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    sim = Simulator(SimConfig.single(seed=3, region=region, timezone=zone, scale=300, now=now))
    with sim.serve() as server:
        api = Api(server.base_url, "/au" if region == "au" else "")
        report = api.create_id(body(INTERACTIONS, before, after, metrics=["time", "queueTime"]))
        rows = [items(r) for r in api.all_rows(report)[0]]
        seen = {value[-6:] for row in rows for value in (row["time"], row["queueTime"]) if value}
        assert seen == set(offsets)
        tz = ZoneInfo(zone)
        for row in rows:
            text = row["time"]
            instant = parse_ts(text)
            local = instant.astimezone(tz)
            assert text[:23] == local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
            assert text[-6:] == local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def test_dst_reading_of_ambiguous_and_missing_local_times() -> None:
    # Fall back 2026-11-01 01:30 happens twice in Los Angeles: the first (PDT) occurrence is used.
    ambiguous = parse_date_range_value("2026-11-01T01:30:00.000Z", LA, quirk=True)
    assert from_ms(ambiguous) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    # Spring forward 2026-03-08 02:30 does not exist: read with the offset before the gap (PST).
    missing = parse_date_range_value("2026-03-08T02:30:00.000Z", LA, quirk=True)
    assert from_ms(missing) == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert parse_date_range_value("2026-03-08T02:30:00.000+02:00", LA, quirk=False) == parse_date_range_value(
        "2026-03-08T00:30:00.000Z", LA, quirk=False
    )


def test_fall_back_hour_needs_a_wider_window(api: Api) -> None:
    sim = Simulator(SimConfig.single(seed=3, scale=3000, now=datetime(2026, 11, 2, tzinfo=UTC)))
    with sim.serve() as server:
        client = Api(server.base_url)
        narrow = _times(client, "2026-11-01T01:00:00.000Z", "2026-11-01T01:59:59.999Z")
        assert narrow
        assert all(t < datetime(2026, 11, 1, 9, 0, tzinfo=UTC) for t in narrow)  # only the PDT hour
        wide = _times(client, "2026-11-01T01:00:00.000Z", "2026-11-01T02:00:00.000Z")
        second_hour = [
            t
            for t in wide
            if datetime(2026, 11, 1, 9, tzinfo=UTC) <= t < datetime(2026, 11, 1, 10, tzinfo=UTC)
        ]
        assert second_hour
        assert {t.astimezone(LA).strftime("%z") for t in wide} == {"-0700", "-0800"}
    assert timedelta(hours=1) == datetime(2026, 11, 1, 9, tzinfo=UTC) - datetime(2026, 11, 1, 8, tzinfo=UTC)
