"""Publishing against a real PostgreSQL: a report created earlier never overwrites rows written from
a later one, a re-read of unchanged rows writes nothing (not even a row lock), a re-read that moves
an interaction to another interval recomputes the interval it left, and a load whose staged rows
are gone fails before publishing anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from psycopg import sql

from acdflow.warehouse import agent_status as status_store
from acdflow.warehouse import store
from tests.transform.warehouse_testlib import status_change

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
OLDER = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
NEWER = OLDER + timedelta(minutes=15)


def _call(interaction_id: str, *, handling_ms: int, minute: int = 3) -> SimpleNamespace:
    queue_time = T0 + timedelta(minutes=minute, seconds=7)
    return SimpleNamespace(
        interaction_id=interaction_id,
        queue_id="412",
        queue_name="Support EN",
        channel="call",
        media_type="Phone",
        direction="InboundDir",
        queue_time=queue_time,
        interval_start=T0 + timedelta(minutes=minute - minute % 15),
        handled=True,
        handling_ms=handling_ms,
        created_time=queue_time - timedelta(seconds=5),
        finished_time=queue_time + timedelta(minutes=5),
    )


def _publish(conn: store.Connection, schema: str, report_id: int, calls: list[Any], created: datetime) -> Any:
    store.stage_interactions(
        conn, schema, integration="acme", report_id=report_id, records=calls, rejected=[]
    )
    result = store.publish_interactions(
        conn,
        schema,
        integration="acme",
        report_id=report_id,
        interval_start=T0,
        report_created_at=created,
        expected_staged=len(calls),
    )
    store.recompute_aht(conn, schema, integration="acme", intervals=result.intervals)
    return result


def _rows(conn: store.Connection, schema: str, table: str, key: str) -> dict[str, dict[str, Any]]:
    cur = conn.execute(
        sql.SQL("SELECT *, xmin::text AS xmin_, xmax::text AS xmax_ FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
    )
    names = [d.name for d in cur.description or ()]
    return {str(r[names.index(key)]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _aht(conn: store.Connection, schema: str) -> dict[datetime, tuple[int, int]]:
    rows = conn.execute(
        sql.SQL("SELECT interval_start, handled_count, handling_ms_sum FROM {}.interval_aht").format(
            sql.Identifier(schema)
        )
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_an_older_report_loaded_last_leaves_the_newer_values(warehouse_uri: str, fresh_schema: str) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        # The newer report (created later) knows the call was handled for 90 s; the older one,
        # whose load was retried and finishes last, still says 60 s.
        _publish(conn, fresh_schema, 2, [_call("c1", handling_ms=90_000)], NEWER)
        result = _publish(
            conn, fresh_schema, 1, [_call("c1", handling_ms=60_000), _call("c2", handling_ms=30_000)], OLDER
        )
        rows = _rows(conn, fresh_schema, "interactions", "interaction_id")
        assert rows["c1"]["handling_ms"] == 90_000
        assert rows["c1"]["report_id"] == 2
        assert rows["c1"]["report_created_at"] == NEWER
        # A row the newer report did not have is still loaded from the older one.
        assert rows["c2"]["handling_ms"] == 30_000
        assert rows["c2"]["report_created_at"] == OLDER
        assert result.changed == 1
        assert _aht(conn, fresh_schema) == {T0: (2, 120_000)}
        # A report created later still updates the row.
        _publish(conn, fresh_schema, 3, [_call("c1", handling_ms=45_000)], NEWER + timedelta(minutes=15))
        assert _rows(conn, fresh_schema, "interactions", "interaction_id")["c1"]["handling_ms"] == 45_000
        assert _aht(conn, fresh_schema) == {T0: (2, 75_000)}


def test_an_unchanged_reread_writes_nothing(warehouse_uri: str, fresh_schema: str) -> None:
    calls = [_call(f"c{i}", handling_ms=1000 * i) for i in range(50)]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _publish(conn, fresh_schema, 1, calls, OLDER)
        before = _rows(conn, fresh_schema, "interactions", "interaction_id")
        result = _publish(conn, fresh_schema, 2, calls, NEWER)
        after = _rows(conn, fresh_schema, "interactions", "interaction_id")
    assert result.changed == 0
    assert result.staged == 50
    # Same row versions (xmin) and no lock left on them (xmax 0): the re-read neither rewrote
    # nor locked a row, so it wrote nothing to the WAL for them.
    assert {k: (v["xmin_"], v["report_id"]) for k, v in after.items()} == {
        k: (v["xmin_"], v["report_id"]) for k, v in before.items()
    }
    assert {v["xmax_"] for v in after.values()} == {"0"}


def test_a_moved_interaction_recomputes_the_interval_it_left(warehouse_uri: str, fresh_schema: str) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        _publish(conn, fresh_schema, 1, [_call("c1", handling_ms=60_000, minute=3)], OLDER)
        assert _aht(conn, fresh_schema) == {T0: (1, 60_000)}
        result = _publish(conn, fresh_schema, 2, [_call("c1", handling_ms=60_000, minute=18)], NEWER)
        assert result.intervals == (T0, T0 + timedelta(minutes=15))
        # The interval the call left has no handled calls any more: its AHT row is gone.
        assert _aht(conn, fresh_schema) == {T0 + timedelta(minutes=15): (1, 60_000)}


def test_a_load_whose_staged_rows_are_gone_publishes_nothing(warehouse_uri: str, fresh_schema: str) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        store.stage_interactions(
            conn,
            fresh_schema,
            integration="acme",
            report_id=1,
            records=[_call("c1", handling_ms=1)],
            rejected=[],
        )
        # What a database restart does to the staging table (it keeps no write-ahead log).
        conn.execute(sql.SQL("TRUNCATE {}.stg_interactions").format(sql.Identifier(fresh_schema)))
        with pytest.raises(
            store.TransientRowsLostError, match="transform staged 1 rows, the warehouse holds 0 "
        ):
            store.publish_interactions(
                conn, fresh_schema, integration="acme", report_id=1, interval_start=T0, expected_staged=1
            )
        assert _rows(conn, fresh_schema, "interactions", "interaction_id") == {}


def test_an_older_status_report_loaded_last_leaves_the_newer_values(
    warehouse_uri: str, fresh_schema: str
) -> None:
    def publish(report_id: int, events: list[status_store.StagedEvent], created: datetime) -> None:
        status_store.stage_events(
            conn, fresh_schema, integration="acme", report_id=report_id, events=events, rejected=[]
        )
        status_store.publish_history(
            conn,
            fresh_schema,
            integration="acme",
            report_id=report_id,
            interval_start=T0,
            report_created_at=created,
            expected_staged=len(events),
            window=(T0, T0 + timedelta(minutes=15)),
        )

    first = status_change("a1", T0 + timedelta(minutes=1), "OnBreak")
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish(2, [replace(first, agent_name="Maria Renamed")], NEWER)
        publish(1, [first, status_change("a1", T0 + timedelta(minutes=9))], OLDER)
        rows = {
            (r[0], r[1]): r[2:]
            for r in conn.execute(
                sql.SQL(
                    "SELECT agent_id, start_time, agent_name, report_id, end_time, end_time_provisional"
                    " FROM {}.agent_status_history"
                ).format(sql.Identifier(fresh_schema))
            ).fetchall()
        }
    assert rows == {
        ("a1", T0 + timedelta(minutes=1)): ("Maria Renamed", 2, T0 + timedelta(minutes=9), False),
        ("a1", T0 + timedelta(minutes=9)): ("Agent a1", 1, None, False),
    }
