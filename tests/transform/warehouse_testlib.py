"""Run records through the warehouse functions production uses, read back what they published, and
say independently what they should have published.

AHT per interval and the historical status intervals exist only as SQL (``aggregate_aht.sql``,
``agent_status/load*.sql``), so their tests load data the way the DAG tasks do: land pages, transform,
stage, publish, recompute. The ``expected_*`` oracles are plain arithmetic written for the tests
(``Decimal`` with ``ROUND_HALF_UP``, like the simulator's ground truth); they share no code with the
product.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from psycopg import sql

from acdflow.pipeline import AGENT_STATUS_REPORT, INTERACTION_REPORT
from acdflow.transform.agent_status import StatusEventBatch, status_name, transform_status_events
from acdflow.transform.interactions import InteractionBatch, InteractionRecord, transform_interactions
from acdflow.warehouse import agent_status as status_store
from acdflow.warehouse import store
from acdflow.warehouse.agent_status import HistoryPublish, StagedEvent
from acdflow.warehouse.store import Connection, StagedRejection

INTEGRATION = "acme"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

AhtKey = tuple[datetime, str, str]  # (interval_start, queue_name, channel)
AhtValue = tuple[int, int, Decimal]  # (handled_count, handling_ms_sum, aht_seconds)
Span = tuple[str, str, datetime, datetime | None]  # (agent_id, status_name, start_time, end_time)


def landed(
    conn: Connection, schema: str, rows: Sequence[Any], report_kind: str, report_id: int, integration: str
) -> Iterator[Any]:
    """Land ``rows`` as one page (the ``extract`` task) and stream them back (what ``transform`` reads).
    The page comes with its JSON text, ASCII-escaped, as the client hands 8x8's pages on."""
    page = store.LandingPage(rows, json.dumps(list(rows)))
    store.land_pages(
        conn, schema, integration=integration, report_kind=report_kind, report_id=report_id, pages=[page]
    )
    return store.iter_landed_rows(conn, schema, integration=integration, report_id=report_id)


# ---- interactions and AHT --------------------------------------------------------------------


def handled_call(
    interaction_id: str,
    queue_time: datetime,
    handling_ms: int | None = 60_000,
    *,
    handled: bool = True,
    queue: str = "Support EN",
    channel: str = "call",
) -> InteractionRecord:
    """A record as ``transform_interactions`` makes it; only what AHT reads is varied."""
    return InteractionRecord(
        interaction_id=interaction_id,
        queue_id="412",
        queue_name=queue,
        channel=channel,  # type: ignore[arg-type]
        media_type={"call": "Phone", "chat": "Chat", "email": "Email"}[channel],
        direction="inbound",
        queue_time=queue_time,
        interval_start=EPOCH + (queue_time - EPOCH) // timedelta(minutes=15) * timedelta(minutes=15),
        handled=handled,
        handling_ms=handling_ms if handled else None,
        finished_time=queue_time + timedelta(minutes=5),
        ongoing=False,
        created_time=queue_time - timedelta(seconds=5),
        transaction_id=None,
        labels=("Queued", "Handled") if handled else ("Queued",),
        queue_time_offset_minutes=0,
    )


def publish_interactions(
    conn: Connection,
    schema: str,
    records: Iterable[InteractionRecord],
    *,
    report_id: int,
    integration: str = INTEGRATION,
    rejected: Iterable[StagedRejection] = (),
) -> tuple[datetime, ...]:
    """The ``transform`` → ``load`` → ``aggregate_aht`` tasks for one report's records; returns the
    intervals the load touched (the ones whose AHT was recomputed)."""
    store.stage_interactions(
        conn, schema, integration=integration, report_id=report_id, records=records, rejected=rejected
    )
    published = store.publish_interactions(
        conn, schema, integration=integration, report_id=report_id, interval_start=EPOCH
    )
    store.recompute_aht(
        conn, schema, integration=integration, intervals=published.intervals, cleanup_report_id=report_id
    )
    return published.intervals


def import_interaction_rows(
    conn: Connection, schema: str, rows: Sequence[Any], *, report_id: int, integration: str = INTEGRATION
) -> InteractionBatch:
    """Raw 8x8 rows through every warehouse step: land, transform, stage, publish, AHT."""
    batch = transform_interactions(landed(conn, schema, rows, INTERACTION_REPORT, report_id, integration))
    publish_interactions(
        conn,
        schema,
        batch.records,
        report_id=report_id,
        integration=integration,
        rejected=(StagedRejection(x.reason, x.raw, x.interaction_id, x.record_time) for x in batch.rejected),
    )
    return batch


def stored_aht(conn: Connection, schema: str, integration: str = INTEGRATION) -> dict[AhtKey, AhtValue]:
    rows = conn.execute(
        sql.SQL(
            "SELECT interval_start, queue_name, channel, handled_count, handling_ms_sum, aht_seconds"
            " FROM {}.interval_aht WHERE integration = %s"
        ).format(sql.Identifier(schema)),
        (integration,),
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


def aht_seconds(handling_ms_sum: int, handled_count: int) -> Decimal:
    """sum / count ms in seconds, rounded half-up to the millisecond (precision to spare, so the
    division itself never rounds)."""
    with localcontext(Context(prec=100)):
        return (Decimal(handling_ms_sum) / handled_count / 1000).quantize(Decimal("0.001"), ROUND_HALF_UP)


def expected_aht(records: Iterable[InteractionRecord]) -> dict[AhtKey, AhtValue]:
    """The product's AHT: handled interactions with a handling time, per (interval, queue, channel)."""
    times: dict[AhtKey, list[int]] = defaultdict(list)
    for r in records:
        if r.handled and r.handling_ms is not None:
            times[(r.interval_start, r.queue_name, r.channel)].append(r.handling_ms)
    return {key: (len(ms), sum(ms), aht_seconds(sum(ms), len(ms))) for key, ms in times.items()}


# ---- agent statuses --------------------------------------------------------------------------


def status_change(
    agent_id: str, start: datetime, status: str = "Available", code: str | None = None
) -> StagedEvent:
    return StagedEvent(
        agent_id=agent_id,
        agent_name=f"Agent {agent_id}",
        status=status,
        status_code=code,
        status_name=status_name(status, code),
        start_time=start,
        observed_offset_minutes=0,
    )


def publish_statuses(
    conn: Connection,
    schema: str,
    events: Sequence[StagedEvent],
    *,
    report_id: int,
    integration: str = INTEGRATION,
    rejected: Iterable[StagedRejection] = (),
) -> HistoryPublish:
    """The ``transform`` → ``load`` tasks of the agent-status DAG for one report's events."""
    status_store.stage_events(
        conn, schema, integration=integration, report_id=report_id, events=events, rejected=rejected
    )
    return status_store.publish_history(
        conn, schema, integration=integration, report_id=report_id, interval_start=EPOCH
    )


def import_status_rows(
    conn: Connection, schema: str, rows: Sequence[Any], *, report_id: int, integration: str = INTEGRATION
) -> StatusEventBatch:
    """Raw status-change rows through land, transform, same-instant collapse, stage and publish."""
    batch = transform_status_events(landed(conn, schema, rows, AGENT_STATUS_REPORT, report_id, integration))
    events, _ = status_store.collapse_same_instant(
        StagedEvent(e.agent_id, e.agent_name, e.status, e.status_code, status_name(e.status, e.status_code),
                    e.time, e.observed_offset_minutes)
        for e in batch.events
    )  # fmt: skip
    publish_statuses(
        conn,
        schema,
        events,
        report_id=report_id,
        integration=integration,
        rejected=(StagedRejection(x.reason, x.raw, x.agent_id, x.record_time) for x in batch.rejected),
    )
    return batch


def stored_history(conn: Connection, schema: str, integration: str = INTEGRATION) -> list[Span]:
    rows = conn.execute(
        sql.SQL(
            "SELECT agent_id, status_name, start_time, end_time FROM {}.agent_status_history"
            " WHERE integration = %s"
        ).format(sql.Identifier(schema)),
        (integration,),
    ).fetchall()
    return sorted(((r[0], r[1], r[2], r[3]) for r in rows), key=lambda span: (span[0], span[2]))


def expected_history(events: Iterable[StagedEvent]) -> list[Span]:
    """One status per (agent, start); each lasts until the agent's next one, the
    agent's latest stays open."""
    names: dict[str, dict[datetime, str]] = defaultdict(dict)
    for e in events:
        names[e.agent_id][e.start_time] = e.status_name
    spans: list[Span] = []
    for agent_id in sorted(names):
        starts = sorted(names[agent_id])
        ends: list[datetime | None] = [*starts[1:], None]
        spans += [(agent_id, names[agent_id][s], s, end) for s, end in zip(starts, ends, strict=True)]
    return spans
