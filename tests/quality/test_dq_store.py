"""``dq_results`` against a real PostgreSQL: migration 0003 and idempotent upserts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acdflow.quality import CHECK_LIVE_VS_HISTORY, CHECK_OFFSET, CHECK_WINDOW, DriftCheckResult, write_results
from acdflow.warehouse.migrate import apply_migrations, available_migrations
from tests.quality.drift_testlib import utc

S = utc(2026, 3, 8, 10)
E = S + timedelta(minutes=15)


def _results(window_passed: bool, offset: int | None) -> list[DriftCheckResult]:
    return [
        DriftCheckResult(
            CHECK_WINDOW, window_passed, offset, {"events": 3, "shift_minutes": 480, "note": "{x}"}
        ),
        DriftCheckResult(CHECK_OFFSET, True, None, {"events": 3}),
        DriftCheckResult(CHECK_LIVE_VS_HISTORY, True, None, {"pairs": 0}),
    ]


def _rows(conn: psycopg.Connection[Any], schema: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        sql.SQL(
            "SELECT integration, interval_start, interval_end, check_name, passed, observed_offset_minutes,"
            " details, checked_at FROM {}.dq_results ORDER BY check_name"
        ).format(sql.Identifier(schema))
    ).fetchall()


def test_migration_0003_creates_dq_results(warehouse_uri: str, fresh_schema: str) -> None:
    assert 3 in [m.version for m in available_migrations()]
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        assert 3 in apply_migrations(conn, fresh_schema)
        key = conn.execute(
            "SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary",
            (f'"{fresh_schema}".dq_results',),
        ).fetchone()
        assert key is not None
        assert key[0] == ["integration", "interval_start", "check_name"]
        assert apply_migrations(conn, fresh_schema) == []


def test_write_results_is_idempotent(warehouse_uri: str, fresh_schema: str) -> None:
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        apply_migrations(conn, fresh_schema)
        write_results(conn, fresh_schema, "acme", S, E, _results(False, -480))
        first = _rows(conn, fresh_schema)
        assert len(first) == 3
        window = next(r for r in first if r[3] == CHECK_WINDOW)
        assert window[:6] == ("acme", S, E, CHECK_WINDOW, False, -480)
        assert window[6] == {"events": 3, "shift_minutes": 480, "note": "{x}"}

        # The same run again converges on the same rows...
        write_results(conn, fresh_schema, "acme", S, E, _results(False, -480))
        again = _rows(conn, fresh_schema)
        assert [r[:7] for r in again] == [r[:7] for r in first]
        # ... and a re-run with a new verdict replaces it, leaving other intervals alone.
        write_results(
            conn,
            fresh_schema,
            "acme",
            S + timedelta(minutes=15),
            E + timedelta(minutes=15),
            _results(True, None),
        )
        write_results(conn, fresh_schema, "acme", S, E, _results(True, None))
        rows = _rows(conn, fresh_schema)
        assert len(rows) == 6
        window = next(r for r in rows if r[3] == CHECK_WINDOW and r[1] == S)
        assert window[4:6] == (True, None)
        assert window[7] >= first[2][7]


def test_write_results_joins_the_callers_transaction(warehouse_uri: str, fresh_schema: str) -> None:
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        apply_migrations(conn, fresh_schema)

        def publish() -> None:
            with conn.transaction():
                write_results(conn, fresh_schema, "acme", S, E, _results(False, 330))
                raise RuntimeError("publish failed")

        with pytest.raises(RuntimeError, match="publish failed"):
            publish()
        assert _rows(conn, fresh_schema) == []


def test_write_results_refuses_bad_input(warehouse_uri: str, fresh_schema: str) -> None:
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        apply_migrations(conn, fresh_schema)
        with pytest.raises(ValueError, match="duplicate"):
            write_results(conn, fresh_schema, "acme", S, E, [*_results(True, None), _results(True, None)[0]])
        with pytest.raises(ValueError, match="aware"):
            write_results(conn, fresh_schema, "acme", S.replace(tzinfo=None), E, _results(True, None))
        with pytest.raises(ValueError, match="invalid warehouse schema"):
            write_results(conn, "Robert'); DROP", "acme", S, E, _results(True, None))
        write_results(conn, fresh_schema, "acme", S, E, [])
        assert _rows(conn, fresh_schema) == []
