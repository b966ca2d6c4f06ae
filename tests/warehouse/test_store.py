"""Warehouse mechanics against a real PostgreSQL: migrations, staging, idempotent publish, AHT."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acdflow.warehouse import store
from acdflow.warehouse.migrate import apply_migrations, available_migrations

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _record(
    i: int,
    *,
    minute: int,
    queue: str = "Support EN",
    channel: str = "call",
    handled: bool = True,
    handling_ms: int | None = 60_000,
) -> SimpleNamespace:
    queue_time = T0 + timedelta(minutes=minute, seconds=7)
    interval = queue_time.replace(minute=queue_time.minute - queue_time.minute % 15, second=0)
    return SimpleNamespace(
        interaction_id=f"int-{i}",
        queue_id="412",
        queue_name=queue,
        channel=channel,
        media_type="Phone",
        direction="InboundDir",
        queue_time=queue_time,
        interval_start=interval,
        handled=handled,
        handling_ms=handling_ms,
        created_time=queue_time - timedelta(seconds=5),
        finished_time=queue_time + timedelta(minutes=5),
    )


def _stage(
    conn: store.Connection,
    schema: str,
    report_id: int,
    records: list[SimpleNamespace],
    rejected: list[store.StagedRejection] | None = None,
) -> None:
    store.stage_interactions(
        conn, schema, integration="acme", report_id=report_id, records=records, rejected=rejected or []
    )


def _checksum(uri: str, schema: str, table: str) -> str:
    with psycopg.connect(uri) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {}.{} t"
            ).format(sql.Identifier(schema), sql.Identifier(table))
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_migrations_apply_once_even_concurrently(warehouse_uri: str, fresh_schema: str) -> None:
    results: list[list[int]] = []

    def migrate() -> None:
        with psycopg.connect(warehouse_uri, autocommit=True) as conn:
            results.append(apply_migrations(conn, fresh_schema))

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = [m.version for m in available_migrations()]
    assert sorted(v for r in results for v in r) == versions  # each applied by exactly one caller
    with psycopg.connect(warehouse_uri) as conn:
        recorded = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY 1").format(
                sql.Identifier(fresh_schema)
            )
        ).fetchall()
        assert [r[0] for r in recorded] == versions
        assert apply_migrations(conn, fresh_schema) == []


def test_interval_must_match_queue_time(warehouse_uri: str, fresh_schema: str) -> None:
    bad = _record(1, minute=3)
    bad.interval_start = T0 + timedelta(minutes=15)  # wrong interval for a 10:03 queue time
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _stage(conn, fresh_schema, 1, [bad])
        with pytest.raises(psycopg.errors.CheckViolation):
            store.publish_interactions(conn, fresh_schema, integration="acme", report_id=1, interval_start=T0)


def test_publish_is_idempotent_and_keeps_unchanged_rows_untouched(
    warehouse_uri: str, fresh_schema: str
) -> None:
    records = [_record(i, minute=i % 30) for i in range(50)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _stage(conn, fresh_schema, 1, records)
        first = store.publish_interactions(
            conn, fresh_schema, integration="acme", report_id=1, interval_start=T0
        )
        assert (first.changed, first.staged) == (50, 50)
        assert first.intervals == (T0, T0 + timedelta(minutes=15))
        before = _checksum(warehouse_uri, fresh_schema, "interactions")
        # A later report with the same content: nothing rewritten, not even report_id / loaded_at.
        _stage(conn, fresh_schema, 2, records)
        second = store.publish_interactions(
            conn, fresh_schema, integration="acme", report_id=2, interval_start=T0
        )
        assert second.changed == 0
        assert _checksum(warehouse_uri, fresh_schema, "interactions") == before
        # Changed content (a late handling time) is updated in place, still one row per interaction.
        changed = [_record(0, minute=0, handling_ms=90_000), *records[1:]]
        _stage(conn, fresh_schema, 3, changed)
        third = store.publish_interactions(
            conn, fresh_schema, integration="acme", report_id=3, interval_start=T0
        )
        assert third.changed == 1
        rows = conn.execute(
            sql.SQL("SELECT count(*), count(DISTINCT interaction_id) FROM {}.interactions").format(
                sql.Identifier(fresh_schema)
            )
        ).fetchone()
        assert rows == (50, 50)


def test_concurrent_publishes_of_the_same_rows_leave_one_copy(warehouse_uri: str, fresh_schema: str) -> None:
    records = [_record(i, minute=i % 15) for i in range(300)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for report_id in (11, 12, 13, 14):
            _stage(conn, fresh_schema, report_id, records)
    errors: list[BaseException] = []

    def publish(report_id: int) -> None:
        try:
            with store.connect(warehouse_uri, fresh_schema) as conn:
                store.publish_interactions(
                    conn, fresh_schema, integration="acme", report_id=report_id, interval_start=T0
                )
                store.recompute_aht(conn, fresh_schema, integration="acme", intervals=[T0])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(rid,)) for rid in (11, 12, 13, 14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(warehouse_uri) as conn:
        assert conn.execute(
            sql.SQL("SELECT count(*) FROM {}.interactions").format(sql.Identifier(fresh_schema))
        ).fetchone() == (300,)
        assert conn.execute(
            sql.SQL("SELECT handled_count FROM {}.interval_aht").format(sql.Identifier(fresh_schema))
        ).fetchall() == [(300,)]


def test_the_first_import_and_the_upsert_write_the_same_rows(warehouse_uri: str, fresh_schema: str) -> None:
    # The same report loaded into an empty table (the plain insert, load.new.sql) and with one of
    # its rows already published (the keyed upsert, load.sql): every other row must be stored
    # identically, whatever columns the table has.
    records = [_record(i, minute=i % 30, handling_ms=None if i % 4 == 0 else 1_000 * i) for i in range(20)]
    created = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    query = sql.SQL("SELECT to_jsonb(t) - 'loaded_at' FROM {}.interactions t ORDER BY interaction_id").format(
        sql.Identifier(fresh_schema)
    )

    def load() -> store.PublishResult:
        _stage(conn, fresh_schema, 1, records)
        return store.publish_interactions(
            conn, fresh_schema, integration="acme", report_id=1, interval_start=T0, report_created_at=created
        )

    with store.connect(warehouse_uri, fresh_schema) as conn:
        assert load().changed == 20
        first_import = [row[0] for row in conn.execute(query).fetchall()]
        conn.execute(
            sql.SQL("DELETE FROM {}.interactions WHERE interaction_id <> 'int-0'").format(
                sql.Identifier(fresh_schema)
            )
        )
        assert load().changed == 19
        upserted = [row[0] for row in conn.execute(query).fetchall()]
    assert len(first_import) == 20
    assert "handling_ms" in first_import[1]
    assert upserted == first_import


def test_a_first_import_raced_by_another_load_falls_back_to_the_upsert(
    warehouse_uri: str, fresh_schema: str
) -> None:
    # Report 22 finds none of its interactions published (report 21 has not committed), so it
    # takes the plain insert, which then waits on 21's keys and fails once 21 commits. The upsert
    # it falls back to must publish 22's version (created later) and report the interval that
    # int-0 leaves, which it can only know by reading the published rows again.
    first = [_record(0, minute=31), *(_record(i, minute=1) for i in range(1, 20))]
    second = [_record(0, minute=16), *(_record(i, minute=1) for i in range(1, 30))]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _stage(conn, fresh_schema, 21, first)
        _stage(conn, fresh_schema, 22, second)
    outcome: list[store.PublishResult | BaseException] = []

    def publish_second() -> None:
        try:
            with store.connect(warehouse_uri, fresh_schema) as conn:
                outcome.append(
                    store.publish_interactions(
                        conn, fresh_schema, integration="acme", report_id=22, interval_start=T0
                    )
                )
        except BaseException as exc:  # pragma: no cover - reported below
            outcome.append(exc)

    with store.connect(warehouse_uri, fresh_schema) as holder, holder.transaction():
        store.publish_interactions(holder, fresh_schema, integration="acme", report_id=21, interval_start=T0)
        racer = threading.Thread(target=publish_second)
        racer.start()
        with psycopg.connect(warehouse_uri, autocommit=True) as probe:
            for _ in range(200):
                waiting = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'acdflow' AND wait_event_type = 'Lock'"
                ).fetchone()
                if waiting and waiting[0] > 0:
                    break
                racer.join(0.05)
            else:  # pragma: no cover - the assertion below says what went wrong
                pytest.fail("the second load never waited on the first one's keys")
    racer.join(30)
    [result] = outcome
    assert isinstance(result, store.PublishResult), result
    assert result.changed == 11  # int-0 moved, int-20..29 new; the 19 equal rows are left alone
    assert result.intervals == (T0, T0 + timedelta(minutes=15), T0 + timedelta(minutes=30))
    with psycopg.connect(warehouse_uri) as conn:
        rows = conn.execute(
            sql.SQL("SELECT interaction_id, interval_start, report_id FROM {}.interactions").format(
                sql.Identifier(fresh_schema)
            )
        ).fetchall()
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    assert len(rows) == 30
    assert by_id["int-0"] == (T0 + timedelta(minutes=15), 22)
    assert by_id["int-5"] == (T0, 21)
    assert by_id["int-25"] == (T0, 22)


def test_aht_recompute_matches_an_independent_calculation(warehouse_uri: str, fresh_schema: str) -> None:
    records = []
    for i in range(200):
        queue = ("Support EN", "Sales")[i % 2]
        channel = ("call", "chat", "email")[i % 3]
        handled = i % 5 != 0
        handling = None if i % 7 == 0 else 30_000 + i * 1_337
        records.append(
            _record(i, minute=i % 45, queue=queue, channel=channel, handled=handled, handling_ms=handling)
        )
    expected: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for r in records:
        if r.handled and r.handling_ms is not None:
            expected[(r.interval_start, r.queue_name, r.channel)].append(r.handling_ms)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _stage(conn, fresh_schema, 1, records)
        result = store.publish_interactions(
            conn, fresh_schema, integration="acme", report_id=1, interval_start=T0
        )
        store.recompute_aht(
            conn, fresh_schema, integration="acme", intervals=list(result.intervals), cleanup_report_id=1
        )
        rows = conn.execute(
            sql.SQL(
                "SELECT interval_start, queue_name, channel, handled_count, handling_ms_sum, aht_seconds"
                " FROM {}.interval_aht"
            ).format(sql.Identifier(fresh_schema))
        ).fetchall()
        leftovers = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.stg_interactions").format(sql.Identifier(fresh_schema))
        ).fetchone()
    got = {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}
    want = {
        key: (len(v), sum(v), (Decimal(sum(v)) / len(v) / 1000).quantize(Decimal("0.001"), ROUND_HALF_UP))
        for key, v in expected.items()
    }
    assert got == want
    assert leftovers == (0,)


def test_aht_rows_disappear_when_an_interval_has_no_handled_interactions(
    warehouse_uri: str, fresh_schema: str
) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _stage(conn, fresh_schema, 1, [_record(1, minute=1)])
        store.publish_interactions(conn, fresh_schema, integration="acme", report_id=1, interval_start=T0)
        assert store.recompute_aht(conn, fresh_schema, integration="acme", intervals=[T0]) == 1
        _stage(conn, fresh_schema, 2, [_record(1, minute=1, handled=False)])
        store.publish_interactions(conn, fresh_schema, integration="acme", report_id=2, interval_start=T0)
        store.recompute_aht(conn, fresh_schema, integration="acme", intervals=[T0])
        assert conn.execute(
            sql.SQL("SELECT count(*) FROM {}.interval_aht").format(sql.Identifier(fresh_schema))
        ).fetchone() == (0,)


def test_rejected_rows_are_quarantined_once(warehouse_uri: str, fresh_schema: str) -> None:
    bad = {"total": None, "items": [{"key": "queueTime", "label": "Queue Time", "value": "not-a-date"}]}
    rejection = store.StagedRejection("unparseable queueTime 'not-a-date'", bad, "int-9", None)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for report_id in (1, 2):
            _stage(conn, fresh_schema, report_id, [], [rejection, rejection])
            store.publish_interactions(
                conn,
                fresh_schema,
                integration="acme",
                report_id=report_id,
                interval_start=T0 + timedelta(minutes=15 * report_id),
            )
        rows = conn.execute(
            sql.SQL("SELECT reason, raw, record_id, interval_start, report_id FROM {}.rejected_rows").format(
                sql.Identifier(fresh_schema)
            )
        ).fetchall()
    assert rows == [("unparseable queueTime 'not-a-date'", bad, "int-9", T0 + timedelta(minutes=15), 1)]


def test_landed_pages_stream_back_in_order(warehouse_uri: str, fresh_schema: str) -> None:
    pages = [store.LandingPage([{"n": p * 10 + i} for i in range(10)]) for p in range(7)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        landed = store.land_pages(
            conn, fresh_schema, integration="acme", report_kind="x", report_id=5, pages=iter(pages)
        )
        assert (landed.pages, landed.rows) == (7, 70)
        # Landing again (a retried extract) replaces, never appends.
        store.land_pages(
            conn, fresh_schema, integration="acme", report_kind="x", report_id=5, pages=iter(pages)
        )
        assert [
            r["n"] for r in store.iter_landed_rows(conn, fresh_schema, integration="acme", report_id=5)
        ] == list(range(70))
        assert store.landed_row_count(conn, fresh_schema, integration="acme", report_id=5) == 70
