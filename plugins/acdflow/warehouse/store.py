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
import operator
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
def session(conn: Connection, schema: str) -> Iterator[Connection]:
    """``conn`` with ``schema`` migrated; commits are explicit (``conn.transaction()``). Tasks get
    their connection from :func:`acdflow.warehouse.connection.connect`."""
    ensure_schema(conn, schema)
    yield conn


@contextmanager
def connect(conninfo: str, schema: str) -> Iterator[Connection]:
    """A session on a libpq connection string: for tools and tests that hold the server's address
    rather than an Airflow connection."""
    with (
        psycopg.connect(conninfo, autocommit=True, application_name="acdflow") as conn,
        session(conn, schema),
    ):
        yield conn


class TransientRowsLostError(RuntimeError):
    """Landed or staged rows a step expects are gone: the landing and staging tables are not
    crash-safe (no write-ahead log), so a database restart or failover empties them."""


def database_now(conn: Connection, schema: str) -> datetime:
    """The warehouse's clock: the one clock every worker shares."""
    row = conn.execute(render("steps/clock.sql", schema)).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def check_staged(*, report_id: int, staged: int, expected: int | None) -> None:
    """Fail a step that reads staged rows, before it publishes or validates anything, when rows
    ``transform`` staged are missing."""
    if expected is not None and staged != expected:
        raise TransientRowsLostError(
            f"report {report_id}: transform staged {expected} rows, the warehouse holds {staged}"
            " (staging is not crash-safe, so a database restart or failover empties it, and it is"
            " pruned after two days); clear extract and the tasks after it to read the report again"
        )


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
    # The substring tests first: each is one C-speed scan, the pattern search costs several times a
    # page's json.dumps, and a page without the substring cannot match it.
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        return False
    if text.isascii():
        return True
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
class LandingPage:
    """One page to land: its rows, and optionally the JSON text they were read from (plain
    ``json.loads`` of ``text`` gives ``rows``), which then lands as it is."""

    rows: Sequence[Any]
    text: str | None = None


def _page_text(page: LandingPage) -> str:
    """The JSON text to land for ``page``. The text as sent when nothing in it can hold a NUL or
    an unpaired surrogate once read (no ``\\u0000`` or ``\\uD800``-``\\uDFFF`` escape: other
    characters were checked when it was read as UTF-8); otherwise the rows serialised with such
    rows replaced (:func:`storable_json`). Landing the text spares serialising every page again."""
    text = page.text
    if text is not None and "\\u0000" not in text and "\\ud" not in text and "\\uD" not in text:
        return text
    return storable_json(page.rows)


def land_pages(
    conn: Connection,
    schema: str,
    *,
    integration: str,
    report_kind: str,
    report_id: int,
    pages: Iterable[LandingPage],
) -> LandedReport:
    """Replace the landed pages of one report with ``pages`` (streamed), one short transaction each.

    ``pages`` is fetched over HTTP while this runs, and 8x8 may be slow or back off for minutes: no
    transaction stays open meanwhile (it would pin a snapshot, hold locks and be ended by
    ``idle_in_transaction_session_timeout``). The old pages are cleared first, then every page commits
    as it arrives. Pages of a run that fails half way are cleared when the failure is not the
    warehouse's own; a retry clears them anyway, and ``transform`` checks it finds exactly the rows
    ``extract`` reported.
    """
    clear = render("reports/extract.clear.sql", schema)
    insert = render("reports/extract.sql", schema)
    key = {"integration": integration, "report_id": report_id}
    page_count = 0
    row_count = 0
    with conn.transaction():
        conn.execute(clear, key)
    try:
        for index, page in enumerate(pages):
            rows = page.rows
            with conn.transaction():
                conn.execute(
                    insert,
                    {
                        **key,
                        "report_kind": report_kind,
                        "page_index": index,
                        "row_count": len(rows),
                        "body": _page_text(page),
                    },
                )
            page_count += 1
            row_count += len(rows)
    except Exception as exc:
        # Only over a healthy session: after a warehouse error the cleanup could fail or wait too.
        healthy = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if healthy and not isinstance(exc, psycopg.Error):
            with conn.transaction():
                conn.execute(clear, key)
        raise
    return LandedReport(page_count, row_count)


def iter_landed_rows(conn: Connection, schema: str, *, integration: str, report_id: int) -> Iterator[Any]:
    """Rows of a landed report, page by page through a server-side cursor (bounded memory)."""
    query = render("reports/transform.sql", schema)
    with conn.transaction(), conn.cursor(name=f"landed_{report_id}") as cur:
        cur.itersize = 2
        cur.execute(query, {"integration": integration, "report_id": report_id})
        for (body,) in cur:
            yield from json.loads(body)


def landed_row_count(conn: Connection, schema: str, *, integration: str, report_id: int) -> int:
    row = conn.execute(
        render("reports/transform.count.sql", schema), {"integration": integration, "report_id": report_id}
    ).fetchone()
    return int(row[0]) if row else 0


# --- transform ---------------------------------------------------------------------------------

# The staging columns, in the order COPY writes them; the record attributes of the same names.
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
            render("reports/transform.clear.sql", schema, table=table),
            {"integration": integration, "report_id": report_id},
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
    records: Iterable[Any],
    rejected: Iterable[StagedRejection],
) -> tuple[int, int]:
    """Replace the staging rows of one report. ``records`` have an attribute per staging column
    (:class:`acdflow.transform.interactions.InteractionRecord`). Returns (records, rejected) staged."""
    values = operator.attrgetter(*_STG_INTERACTION_COLUMNS[2:])
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
            ((integration, report_id, *values(record)) for record in records),
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
    report_created_at: datetime | None = None,
    expected_staged: int | None = None,
    # Unused: interactions need no coverage; the parameter keeps one signature for every kind.
    window: tuple[datetime, datetime] | None = None,
) -> PublishResult:
    """Upsert one report's staged interactions and quarantined rows in a single transaction.

    ``report_created_at`` (default: now, on the warehouse clock) decides which report wins when two
    disagree; ``expected_staged`` makes the load fail, publishing nothing, if staged rows are gone.
    ``intervals`` in the result are the intervals the staged rows fall in plus those that moved
    interactions left, for the AHT recompute.

    When none of the staged interactions is published yet (a first import of the data, as history
    imports are), they are written by a plain insert, without the upsert's key checks; the result
    is the same rows."""
    params: dict[str, Any] = {"integration": integration, "report_id": report_id}
    with conn.transaction():
        staged_row = conn.execute(render("interactions/load.staged.sql", schema), params).fetchone()
        staged, intervals = staged_row if staged_row else (0, [])
        check_staged(report_id=report_id, staged=int(staged), expected=expected_staged)
        params["report_created_at"] = report_created_at or database_now(conn, schema)
        published, left = _published(conn, schema, params)
        changed = _insert_new(conn, schema, params) if published == 0 else None
        if changed is None:
            if published == 0:
                # A concurrent load published some of them first: what they leave is read anew.
                left = _published(conn, schema, params)[1]
            changed = conn.execute(render("interactions/load.sql", schema), params).rowcount
        rejected_new = publish_rejected(
            conn, schema, params, source="interactions", interval_start=interval_start
        )
    return PublishResult(
        changed=max(changed, 0),
        staged=int(staged),
        rejected_new=max(rejected_new, 0),
        intervals=tuple(sorted({*intervals, *left})),
    )


def _published(conn: Connection, schema: str, params: Mapping[str, Any]) -> tuple[int, list[datetime]]:
    """How many staged interactions are published already, and the intervals they would leave."""
    row = conn.execute(render("interactions/load.published.sql", schema), params).fetchone()
    return (int(row[0]), list(row[1])) if row else (0, [])


def _insert_new(conn: Connection, schema: str, params: Mapping[str, Any]) -> int | None:
    """Insert staged interactions none of which is published; ``None`` if a concurrent load
    published one of them meanwhile (the savepoint undoes this insert; the caller upserts)."""
    try:
        with conn.transaction():
            return max(conn.execute(render("interactions/load.new.sql", schema), params).rowcount, 0)
    except psycopg.errors.UniqueViolation:
        return None


def publish_rejected(
    conn: Connection, schema: str, params: Mapping[str, Any], *, source: str, interval_start: datetime
) -> int:
    """Publish a report's quarantined staging rows to ``rejected_rows``; returns the new ones."""
    rowcount = conn.execute(
        render("reports/load.rejected.sql", schema),
        {**params, "source": source, "interval_start": interval_start},
    ).rowcount
    return max(rowcount, 0)


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
    with conn.transaction():
        _integration_lock(conn, integration)
        written = conn.execute(
            render("interactions/aggregate_aht.sql", schema),
            {"integration": integration, "intervals": list(intervals)},
        ).rowcount
        conn.execute(
            render("interactions/aggregate_aht.cleanup.sql", schema),
            {"integration": integration, "report_id": cleanup_report_id},
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
    params = {field: getattr(record, field) for field in record.__dataclass_fields__}
    params["details"] = Jsonb(dict(record.details or {}))
    conn.execute(render("steps/load_runs.sql", schema), params)
