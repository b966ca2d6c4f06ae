"""The warehouse against the simulator's ground truth: the one comparison that the end-to-end tests,
the benchmarks and the soak run (``bench/soak.py``) share.

For one integration and a UTC window ``[start, end)`` it reads the published rows of
``interactions``, ``interval_aht`` and ``agent_status_history`` from a warehouse (a libpq URI or an
open psycopg connection) and schema, keys them by the table's primary key, and compares every
column of business content with the :class:`~acdflow_dev.sim.GroundTruth` of the simulator tenant
behind the integration. The result says, per table, which keys are missing, unexpected, mismatched
or came more than once; values compare exactly (timestamps to the microsecond the warehouse keeps,
so to the millisecond of the truth; AHT as the stored ``numeric``)::

    diff = compare(uri, "acd", "acme", sim.ground_truth(), start, end)  # all three tables
    assert diff.ok, diff.describe()
    aht = Comparer(uri, "acd", "acme", sim.ground_truth()).interval_aht(start, end)  # or one

Selection, as the ground truth selects: interactions by ``queue_time``, AHT rows by
``interval_start`` (the window must be whole 15-minute intervals), agent statuses by
``start_time``. Interactions count as of the simulator clock unless ``as_of`` says otherwise;
agent statuses as of the window's last millisecond, because the imports of a window read up to its
end: a status still open then has no end time, in the truth or in the warehouse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from acdflow_dev.sim.groundtruth import AgentStatusTruth, GroundTruth, InteractionTruth

Row = dict[str, Any]
Warehouse = str | psycopg.Connection[Any]

FIFTEEN = timedelta(minutes=15)
MS = timedelta(milliseconds=1)

# The columns that are a table's business content: what a correct import must reproduce. The
# interaction and status lists are the ground truth's own fields, so the two cannot drift apart.
INTERACTION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(InteractionTruth))
INTERACTION_KEY = ("interaction_id",)
AHT_COLUMNS = ("interval_start", "queue_name", "channel", "handled_count", "handling_ms_sum", "aht_seconds")
AHT_KEY = ("interval_start", "queue_name", "channel")
STATUS_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AgentStatusTruth))
STATUS_KEY = ("agent_id", "start_time")


def warehouse_direction(value: str) -> str:
    """The warehouse stores inbound/outbound; 8x8 (and the simulator's truth) say InboundDir/OutboundDir."""
    return {"inbounddir": "inbound", "outbounddir": "outbound"}.get(value.lower(), value.lower())


def _key(row: Mapping[str, Any], key: Sequence[str]) -> Any:
    """A single-column key is its value; a longer one the tuple of its values."""
    return row[key[0]] if len(key) == 1 else tuple(row[c] for c in key)


def _shown(value: Any) -> str:
    if isinstance(value, datetime):  # in UTC, to the millisecond (finer only if there is more)
        spec = "microseconds" if value.microsecond % 1000 else "milliseconds"
        return value.astimezone(UTC).isoformat(timespec=spec)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_shown, value)) + ")"
    return repr(value)


@dataclass(frozen=True)
class TableDiff:
    """One table of the warehouse against the truth, key by key.

    ``want`` and ``have`` map each key to its row (the compared columns, key columns included);
    ``have`` holds the last of rows that share a key, and ``duplicated`` how many more each such
    key came."""

    table: str
    want: Mapping[Any, Row]
    have: Mapping[Any, Row]
    duplicated: Mapping[Any, int] = field(default_factory=dict)

    @property
    def expected(self) -> int:
        return len(self.want)

    @property
    def loaded(self) -> int:
        return len(self.have)

    @cached_property
    def missing(self) -> list[Any]:
        return sorted(self.want.keys() - self.have.keys(), key=str)

    @cached_property
    def unexpected(self) -> list[Any]:
        return sorted(self.have.keys() - self.want.keys(), key=str)

    @cached_property
    def mismatched(self) -> list[Any]:
        return sorted(
            (k for k in self.want.keys() & self.have.keys() if self.want[k] != self.have[k]), key=str
        )

    @property
    def duplicates(self) -> int:
        """Rows beyond the first of their key."""
        return sum(self.duplicated.values())

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched or self.duplicates)

    def counts(self) -> dict[str, int]:
        return {
            "expected": self.expected,
            "loaded": self.loaded,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "mismatched": len(self.mismatched),
            "duplicates": self.duplicates,
        }

    def examples(self, limit: int = 10) -> list[str]:
        """The first differences of each kind, readable: the evidence behind the counts."""
        out = [f"missing {_shown(k)}: {self._row(self.want[k])}" for k in self.missing[:limit]]
        out += [f"unexpected {_shown(k)}: {self._row(self.have[k])}" for k in self.unexpected[:limit]]
        for k in self.mismatched[:limit]:
            want, have = self.want[k], self.have[k]
            cols = [c for c in want if want[c] != have.get(c)]
            out.append(
                f"mismatched {_shown(k)}: "
                + "; ".join(f"{c} {_shown(want[c])} in the truth, {_shown(have.get(c))} stored" for c in cols)
            )
        out += [f"duplicated {_shown(k)}: {n + 1} rows" for k, n in list(self.duplicated.items())[:limit]]
        return out

    def describe(self, limit: int = 10) -> str:
        counts = self.counts()
        head = f"{self.table}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        return "\n  ".join([head, *self.examples(limit)])

    @staticmethod
    def _row(row: Row) -> str:
        return "{" + ", ".join(f"{c}={_shown(v)}" for c, v in row.items()) + "}"


@dataclass(frozen=True)
class Comparison:
    """All three tables of one integration against the truth for one window."""

    interactions: TableDiff
    interval_aht: TableDiff
    agent_statuses: TableDiff

    @property
    def tables(self) -> tuple[TableDiff, ...]:
        return (self.interactions, self.interval_aht, self.agent_statuses)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    def describe(self, limit: int = 10) -> str:
        return "\n".join(t.describe(limit) for t in self.tables)


# -- reading the warehouse -------------------------------------------------------------------------


@contextmanager
def _connected(warehouse: Warehouse) -> Iterator[psycopg.Connection[Any]]:
    if isinstance(warehouse, str):
        with psycopg.connect(warehouse, application_name="acdflow-compare") as conn:
            yield conn
    else:
        yield warehouse


def _keyed(table: str, want: list[Row], got: list[Row], key: Sequence[str]) -> TableDiff:
    have: dict[Any, Row] = {}
    seen: Counter[Any] = Counter()
    for row in got:
        k = _key(row, key)
        seen[k] += 1
        have[k] = row
    return TableDiff(
        table=table,
        want={_key(r, key): r for r in want},
        have=have,
        duplicated={k: n - 1 for k, n in seen.items() if n > 1},
    )


def _whole_intervals(start: datetime, end: datetime) -> None:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    if (start - epoch) % FIFTEEN or (end - epoch) % FIFTEEN:
        raise ValueError(f"AHT compares whole 15-minute intervals, not [{start}, {end})")


# -- the comparisons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparer:
    """The published rows of ``integration`` in ``schema`` of ``warehouse`` (a libpq URI, or an
    open connection that the caller owns), against ``truth``: the simulator tenant behind it."""

    warehouse: Warehouse
    schema: str
    integration: str
    truth: GroundTruth

    def interactions(self, start: datetime, end: datetime, *, as_of: datetime | None = None) -> TableDiff:
        """``interactions`` with ``queue_time`` in ``[start, end)``, keyed by interaction id, as of
        ``as_of`` (default: the simulator clock)."""
        want = []
        for t in self.truth.interactions(start, end, as_of=as_of):
            row = {c: getattr(t, c) for c in INTERACTION_COLUMNS}
            row["direction"] = warehouse_direction(row["direction"])
            want.append(row)
        got = self._published("interactions", INTERACTION_COLUMNS, "queue_time", start, end)
        return _keyed("interactions", want, got, INTERACTION_KEY)

    def interval_aht(self, start: datetime, end: datetime, *, as_of: datetime | None = None) -> TableDiff:
        """``interval_aht`` of the intervals in ``[start, end)``, keyed by (interval, queue,
        channel): handled count, handling-time sum and AHT to the millisecond."""
        _whole_intervals(start, end)
        want = [
            {c: getattr(a, c) for c in AHT_COLUMNS} for a in self.truth.interval_aht(start, end, as_of=as_of)
        ]
        got = self._published("interval_aht", AHT_COLUMNS, "interval_start", start, end)
        return _keyed("interval_aht", want, got, AHT_KEY)

    def agent_statuses(self, start: datetime, end: datetime, *, as_of: datetime | None = None) -> TableDiff:
        """``agent_status_history`` with ``start_time`` in ``[start, end)``, keyed by (agent,
        start), as of ``as_of`` (default: the window's last millisecond)."""
        at = end - MS if as_of is None else as_of
        truth = self.truth.agent_status_history(start, end, as_of=at)
        want = [{c: getattr(t, c) for c in STATUS_COLUMNS} for t in truth]
        got = self._published("agent_status_history", STATUS_COLUMNS, "start_time", start, end)
        return _keyed("agent_status_history", want, got, STATUS_KEY)

    def all(
        self,
        start: datetime,
        end: datetime,
        *,
        as_of: datetime | None = None,
        status_as_of: datetime | None = None,
    ) -> Comparison:
        """The three tables, read on one connection."""
        with _connected(self.warehouse) as conn:
            on = replace(self, warehouse=conn)
            return Comparison(
                interactions=on.interactions(start, end, as_of=as_of),
                interval_aht=on.interval_aht(start, end, as_of=as_of),
                agent_statuses=on.agent_statuses(start, end, as_of=status_as_of),
            )

    def _published(
        self, table: str, columns: Sequence[str], window_column: str, start: datetime, end: datetime
    ) -> list[Row]:
        query = sql.SQL(
            "SELECT {columns} FROM {schema}.{table} WHERE integration = %s AND {at} >= %s AND {at} < %s"
        ).format(
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            schema=sql.Identifier(self.schema),
            table=sql.Identifier(table),
            at=sql.Identifier(window_column),
        )
        with _connected(self.warehouse) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, (self.integration, start, end))
            return cur.fetchall()


def compare(
    warehouse: Warehouse,
    schema: str,
    integration: str,
    truth: GroundTruth,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    status_as_of: datetime | None = None,
) -> Comparison:
    """All three tables of one integration against the truth for ``[start, end)``: interactions
    and AHT as of ``as_of`` (default: the simulator clock), agent statuses as of ``status_as_of``
    (default: the window's last millisecond)."""
    return Comparer(warehouse, schema, integration, truth).all(
        start, end, as_of=as_of, status_as_of=status_as_of
    )


__all__ = [
    "AHT_COLUMNS",
    "AHT_KEY",
    "INTERACTION_COLUMNS",
    "INTERACTION_KEY",
    "STATUS_COLUMNS",
    "STATUS_KEY",
    "Comparer",
    "Comparison",
    "TableDiff",
    "compare",
    "warehouse_direction",
]
