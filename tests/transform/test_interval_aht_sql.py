"""AHT per 15-minute interval (the product's definition), as production computes it:
``aggregate_aht.sql`` run by ``recompute_aht`` over interactions staged and published by the
warehouse functions, against a real PostgreSQL, compared with an independent calculation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from acdflow.warehouse import store
from tests.transform.transform_testlib import load, utc
from tests.transform.warehouse_testlib import (
    aht_seconds,
    expected_aht,
    handled_call,
    import_interaction_rows,
    publish_interactions,
    stored_aht,
)

T0 = utc(2026, 3, 10, 14, 0)


def test_example_pages_from_landing_to_aht(warehouse_uri: str, fresh_schema: str) -> None:
    rows = load("interactions_page1.json") + load("interactions_page2.json")
    with store.connect(warehouse_uri, fresh_schema) as conn:
        batch = import_interaction_rows(conn, fresh_schema, rows, report_id=1)
        # Accepted participant Sam Okafor: 09:07:00.300 − 09:00:41.250 (the chat was not handled).
        assert stored_aht(conn, fresh_schema) == {
            (utc(2025, 11, 18, 17, 0), "Support EN", "call"): (1, 379_050, Decimal("379.050"))
        }
        assert stored_aht(conn, fresh_schema) == expected_aht(batch.records)


@pytest.mark.parametrize(
    ("handling_ms", "aht"),
    [
        ([2, 3], "0.003"),  # 2.5 ms: half-up, not half-even (which gives 0.002)
        ([1, 2], "0.002"),  # 1.5 ms
        ([1000, 2001], "1.501"),  # 1500.5 ms
        ([1000, 2003], "1.502"),  # 1501.5 ms
        ([1, 0, 0], "0.000"),  # 0.33 ms
        ([1, 1, 0], "0.001"),  # 0.67 ms
        ([0], "0.000"),
        ([60_000, 120_000, 20_000], "66.667"),
        # The largest AHT numeric(14,3) holds, reached from an exact half at 15 significant digits.
        ([99_999_999_999_999, 99_999_999_999_998], "99999999999.999"),
    ],
)
def test_aht_rounds_half_up_to_the_millisecond(
    warehouse_uri: str, fresh_schema: str, handling_ms: list[int], aht: str
) -> None:
    calls = [handled_call(f"c{i}", T0 + timedelta(seconds=i), ms) for i, ms in enumerate(handling_ms)]
    key = (T0, "Support EN", "call")
    assert aht_seconds(sum(handling_ms), len(handling_ms)) == Decimal(aht)  # the oracle agrees
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, calls, report_id=1)
        got = stored_aht(conn, fresh_schema)
    assert got == {key: (len(handling_ms), sum(handling_ms), Decimal(aht))}
    assert got[key][2].as_tuple().exponent == -3


def test_large_sums_round_exactly(warehouse_uri: str, fresh_schema: str) -> None:
    """10 001 calls of about 158 years each: sums beyond 2**53 and averages 0.00005 ms either side of
    a half. Rounding the quotient first (numeric division keeps ~16 significant digits) would round
    both up."""
    base = 5_000_000_000_000
    calls = []
    for queue, longer in (("Below half", 5_000), ("Above half", 5_001)):
        calls += [
            handled_call(f"{queue}-{i}", T0 + timedelta(milliseconds=i), base + (i < longer), queue=queue)
            for i in range(10_001)
        ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, calls, report_id=1)
        got = stored_aht(conn, fresh_schema)
    assert got == expected_aht(calls)
    assert got[(T0, "Below half", "call")] == (10_001, base * 10_001 + 5_000, Decimal("5000000000.000"))
    assert got[(T0, "Above half", "call")] == (10_001, base * 10_001 + 5_001, Decimal("5000000000.001"))
    assert base * 10_001 > 2**53


def test_one_call_per_interval_and_interval_boundaries(warehouse_uri: str, fresh_schema: str) -> None:
    calls = [
        handled_call("a", T0, 30_000),
        handled_call("b", T0 + timedelta(minutes=14, seconds=59, milliseconds=999), 40_001),
        handled_call("c", T0 + timedelta(minutes=15), 50_000),  # the next interval starts exactly here
        handled_call("d", T0 + timedelta(hours=5, minutes=44), 1),
        handled_call("e", T0 - timedelta(milliseconds=1), 7),  # the interval before
    ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, calls, report_id=1)
        got = stored_aht(conn, fresh_schema)
    assert got == {
        (T0, "Support EN", "call"): (2, 70_001, Decimal("35.001")),  # 35 000.5 ms
        (T0 + timedelta(minutes=15), "Support EN", "call"): (1, 50_000, Decimal("50.000")),
        (T0 + timedelta(hours=5, minutes=30), "Support EN", "call"): (1, 1, Decimal("0.001")),
        (T0 - timedelta(minutes=15), "Support EN", "call"): (1, 7, Decimal("0.007")),
    }
    assert got == expected_aht(calls)


def test_groups_by_queue_and_channel_and_counts_only_handled_calls_with_a_time(
    warehouse_uri: str, fresh_schema: str
) -> None:
    calls = [
        handled_call("a", T0, 60_000),
        handled_call("b", T0 + timedelta(minutes=1), 120_000),
        handled_call("c", T0, 10_000, channel="chat"),
        handled_call("d", T0, 20_000, channel="email"),
        handled_call("e", T0, 5_000, queue="Sales"),
        handled_call("f", T0, None),  # handled, but no handling time (ongoing): not counted at all
        handled_call("g", T0, 999_999, handled=False),  # not handled
    ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, calls, report_id=1)
        got = stored_aht(conn, fresh_schema)
    assert got == {
        (T0, "Support EN", "call"): (2, 180_000, Decimal("90.000")),
        (T0, "Support EN", "chat"): (1, 10_000, Decimal("10.000")),
        (T0, "Support EN", "email"): (1, 20_000, Decimal("20.000")),
        (T0, "Sales", "call"): (1, 5_000, Decimal("5.000")),
    }
    assert got == expected_aht(calls)


def test_empty_intervals_have_no_aht_row(warehouse_uri: str, fresh_schema: str) -> None:
    later = T0 + timedelta(minutes=15)
    calls = [
        handled_call("a", T0, 10_000),
        handled_call("b", later, None),  # only an ongoing call
        handled_call("c", later + timedelta(minutes=1), 10_000, handled=False),
    ]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        touched = publish_interactions(conn, fresh_schema, calls, report_id=1)
        assert touched == (T0, later)
        assert stored_aht(conn, fresh_schema) == {(T0, "Support EN", "call"): (1, 10_000, Decimal("10.000"))}
        # Intervals with no interactions at all, or none asked for: nothing written, nothing fails.
        assert (
            store.recompute_aht(conn, fresh_schema, integration="acme", intervals=[T0 - timedelta(days=1)])
            == 0
        )
        assert store.recompute_aht(conn, fresh_schema, integration="acme", intervals=[]) == 0
        # The interval's only handled call turns out not handled: its AHT row goes.
        publish_interactions(conn, fresh_schema, [handled_call("a", T0, None, handled=False)], report_id=2)
        assert stored_aht(conn, fresh_schema) == {}


def test_reloads_update_their_intervals_and_repeat_loads_change_nothing(
    warehouse_uri: str, fresh_schema: str
) -> None:
    first = [handled_call("a", T0, 10_000), handled_call("b", T0 + timedelta(minutes=20), 20_000)]
    # The next run's look-back reads "a" again with a corrected time and adds a late call.
    second = [handled_call("a", T0, 11_001), handled_call("c", T0 + timedelta(minutes=3), 10_000)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, first, report_id=1)
        publish_interactions(conn, fresh_schema, second, report_id=2)
        got = stored_aht(conn, fresh_schema)
        assert got == expected_aht([*second, first[1]])
        assert got[(T0, "Support EN", "call")] == (2, 21_001, Decimal("10.501"))  # 10 500.5 ms
        publish_interactions(conn, fresh_schema, second, report_id=3)
        intervals = [T0, T0 + timedelta(minutes=15)]
        assert store.recompute_aht(conn, fresh_schema, integration="acme", intervals=intervals) == 0
        assert stored_aht(conn, fresh_schema) == got
