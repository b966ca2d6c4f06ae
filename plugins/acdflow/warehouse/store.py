"""Warehouse reads and writes used by the pipeline steps.

Data moves between tasks through the warehouse, never through XCom: ``extract`` lands raw report
pages in ``raw_report_pages``, ``transform`` writes ``stg_*`` tables, ``load`` publishes to the
public tables in one transaction, and ``aggregate_aht`` recomputes AHT and removes the report's
landing and staging rows. Each step only reads what the previous one committed, so any task can
run on any worker and be retried on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from acdflow.transform.rows import UNSTORABLE_ROW_KEY
from acdflow.warehouse.migrate import ensure_schema
from acdflow.warehouse.sql import render

Connection = psycopg.Connection[Any]


@contextmanager
def connect(uri: str, schema: str) -> Iterator[Connection]:
    """A warehouse connection with the schema migrated; commits are explicit (``conn.transaction()``)."""
    with psycopg.connect(uri, autocommit=True, application_name="acdflow") as conn:
        ensure_schema(conn, schema)
        yield conn


def _ident(schema: str) -> sql.Identifier:
    return sql.Identifier(schema)


def canonical_row_hash(raw: Any) -> str:
    """Stable identity of a raw row, so re-reading the same bad row never quarantines it twice."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- extract -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LandedReport:
    pages: int
    rows: int


# A JSON escape of NUL that is not itself an escaped backslash followed by "u0000".
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _storable(text: str) -> bool:
    if _ESCAPED_NUL.search(text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


def storable_json(rows: Sequence[Any]) -> str:
    """``rows`` as JSON text jsonb accepts: a row with a NUL character or an unpaired surrogate
    anywhere is replaced by a marker holding it as ASCII-escaped JSON (the transform quarantines
    it with a reason), so one such row cannot stop its report from landing."""
    text = json.dumps(list(rows), ensure_ascii=False)
    if _storable(text):
        return text
    safe = [
        row
        if _storable(json.dumps(row, ensure_ascii=False))
        else {UNSTORABLE_ROW_KEY: json.dumps(row, ensure_ascii=True)}
        for row in rows
    ]
    return json.dumps(safe, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _ConstantJson:
    """A ``dumps`` for psycopg's Jsonb that returns text serialised (and checked) beforehand."""

    text: str

    def __call__(self, _obj: Any) -> str:
        return self.text


def land_pages(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_kind: str,
    report_id: int,
    pages: Iterable[Sequence[Mapping[str, Any]]],
) -> LandedReport:
    """Replace the landed pages of one report with ``pages`` (streamed; one transaction)."""
    ident = _ident(schema)
    insert = sql.SQL(
        "INSERT INTO {}.raw_report_pages (integration, report_kind, report_id, page_index, row_count, body)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    ).format(ident)
    page_count = 0
    row_count = 0
    with conn.transaction():
        conn.execute(
            sql.SQL("DELETE FROM {}.raw_report_pages WHERE integration = %s AND report_id = %s").format(
                ident
            ),
            (integration, report_id),
        )
        for index, rows in enumerate(pages):
            body = Jsonb(None, dumps=_ConstantJson(storable_json(rows)))
            conn.execute(insert, (integration, report_kind, report_id, index, len(rows), body))
            page_count += 1
            row_count += len(rows)
    return LandedReport(page_count, row_count)


def iter_landed_rows(conn: Connection, schema: str, *, integration: str, report_id: int) -> Iterator[Any]:
    """Rows of a landed report, page by page through a server-side cursor (bounded memory)."""
    query = sql.SQL(
        "SELECT body FROM {}.raw_report_pages WHERE integration = %s AND report_id = %s ORDER BY page_index"
    ).format(_ident(schema))
    with conn.transaction(), conn.cursor(name=f"landed_{report_id}") as cur:
        cur.itersize = 2
        cur.execute(query, (integration, report_id))
        for (body,) in cur:
            yield from body


def landed_row_count(conn: Connection, schema: str, *, integration: str, report_id: int) -> int:
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(sum(row_count), 0) FROM {}.raw_report_pages"
            " WHERE integration = %s AND report_id = %s"
        ).format(_ident(schema)),
        (integration, report_id),
    ).fetchone()
    return int(row[0]) if row else 0


# --- transform ---------------------------------------------------------------------------------

_STG_INTERACTION_COLUMNS = (
    "integration",
    "report_id",
    "interaction_id",
    "queue_id",
    "queue_name",
    "channel",
    "media_type",
    "direction",
    "queue_time",
    "interval_start",
    "handled",
    "handling_ms",
    "created_time",
    "finished_time",
)


@dataclass(frozen=True, slots=True)
class StagedRejection:
    reason: str
    raw: Any
    record_id: str | None
    record_time: datetime | None


def clear_staging(
    conn: Connection, schema: str, tables: Sequence[str], *, integration: str, report_id: int
) -> None:
    for table in tables:
        conn.execute(
            sql.SQL("DELETE FROM {}.{} WHERE integration = %s AND report_id = %s").format(
                _ident(schema), sql.Identifier(table)
            ),
            (integration, report_id),
        )


def copy_rejected(
    conn: Connection, schema: str, *, integration: str, report_id: int, rejected: Iterable[StagedRejection]
) -> int:
    """COPY quarantined rows of one report into ``stg_rejected_rows``; returns the distinct ones."""
    seen: set[str] = set()
    copy_sql = sql.SQL(
        "COPY {}.stg_rejected_rows (integration, report_id, row_hash, reason, raw, record_id, record_time)"
        " FROM STDIN"
    ).format(_ident(schema))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for item in rejected:
            row_hash = canonical_row_hash(item.raw)
            if row_hash in seen:
                # The same bad row twice in one report is one quarantined row (still counted upstream).
                continue
            seen.add(row_hash)
            raw_json = json.dumps(item.raw, ensure_ascii=False, default=str)
            copy.write_row(
                (integration, report_id, row_hash, item.reason, raw_json, item.record_id, item.record_time)
            )
    return len(seen)


def copy_rows(
    conn: Connection,
    schema: str,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    copy_sql = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        _ident(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def stage_interactions(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_id: int,
    records: Iterable[Sequence[Any]],
    rejected: Iterable[StagedRejection],
) -> tuple[int, int]:
    """Replace the staging rows of one report. ``records`` are tuples in staging column order
    without the first two columns (integration, report_id). Returns (records, rejected) staged."""
    with conn.transaction():
        clear_staging(
            conn,
            schema,
            ("stg_interactions", "stg_rejected_rows"),
            integration=integration,
            report_id=report_id,
        )
        staged = copy_rows(
            conn,
            schema,
            "stg_interactions",
            _STG_INTERACTION_COLUMNS,
            ((integration, report_id, *record) for record in records),
        )
        quarantined = copy_rejected(
            conn, schema, integration=integration, report_id=report_id, rejected=rejected
        )
    return staged, quarantined


# --- load --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishResult:
    changed: int
    staged: int
    rejected_new: int
    intervals: tuple[datetime, ...]


def publish_interactions(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_id: int,
    interval_start: datetime,
) -> PublishResult:
    """Upsert one report's staged interactions and quarantined rows in a single transaction."""
    ident = _ident(schema)
    params = {"integration": integration, "report_id": report_id}
    with conn.transaction():
        changed = conn.execute(render("interactions/upsert.sql", schema), params).rowcount
        rejected_new = conn.execute(
            render("interactions/publish_rejected.sql", schema),
            {**params, "source": "interactions", "interval_start": interval_start},
        ).rowcount
        # One pass over the staged rows for both figures.
        staged_row = conn.execute(
            sql.SQL(
                "SELECT count(*), coalesce(array_agg(DISTINCT interval_start ORDER BY interval_start),"
                " '{{}}') FROM {}.stg_interactions WHERE integration = %s AND report_id = %s"
            ).format(ident),
            (integration, report_id),
        ).fetchone()
    staged, intervals = staged_row if staged_row else (0, [])
    return PublishResult(
        changed=max(changed, 0),
        staged=int(staged),
        rejected_new=max(rejected_new, 0),
        intervals=tuple(intervals),
    )


# --- aggregate ---------------------------------------------------------------------------------


def _integration_lock(conn: Connection, integration: str) -> None:
    # Serialises recomputations of one integration's aggregates; concurrent runs of the same
    # interval would otherwise race on delete-then-insert of the same keys.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"acdflow:aggregate:{integration}",))


def recompute_aht(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    intervals: Sequence[datetime],
    cleanup_report_id: int | None = None,
) -> int:
    """Recompute ``interval_aht`` for ``intervals`` and drop the report's landing/staging rows."""
    ident = _ident(schema)
    with conn.transaction():
        _integration_lock(conn, integration)
        written = conn.execute(
            render("interactions/recompute_aht.sql", schema),
            {"integration": integration, "intervals": list(intervals)},
        ).rowcount
        if cleanup_report_id is not None:
            for table in ("raw_report_pages", "stg_interactions", "stg_rejected_rows"):
                conn.execute(
                    sql.SQL("DELETE FROM {}.{} WHERE integration = %s AND report_id = %s").format(
                        ident, sql.Identifier(table)
                    ),
                    (integration, cleanup_report_id),
                )
        # Landing rows of runs that failed for good are not worth keeping forever.
        conn.execute(
            sql.SQL(
                "DELETE FROM {}.raw_report_pages"
                " WHERE integration = %s AND fetched_at < now() - interval '2 days'"
            ).format(ident),
            (integration,),
        )
    return max(written, 0)


# --- run log -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRecord:
    integration: str
    dag_id: str
    run_id: str
    step: str
    try_number: int
    interval_start: datetime
    interval_end: datetime
    duration_ms: int
    report_id: int | None = None
    rows_fetched: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    api_requests: int | None = None
    status: str = "success"
    error: str | None = None
    details: Mapping[str, Any] | None = None


def record_step(conn: Connection, schema: str, record: StepRecord) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {}.load_runs (integration, dag_id, run_id, step, try_number, interval_start,"
            " interval_end, report_id, rows_fetched, rows_loaded, rows_rejected, api_requests, duration_ms,"
            " status, error, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(_ident(schema)),
        (
            record.integration,
            record.dag_id,
            record.run_id,
            record.step,
            record.try_number,
            record.interval_start,
            record.interval_end,
            record.report_id,
            record.rows_fetched,
            record.rows_loaded,
            record.rows_rejected,
            record.api_requests,
            record.duration_ms,
            record.status,
            record.error,
            Jsonb(dict(record.details or {})),
        ),
    )
