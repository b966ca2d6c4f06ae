"""Pure transforms from raw 8x8 report rows to warehouse records (no I/O, no Airflow, no database).

* :mod:`acdflow.transform.rows` — row/metric flattening, :class:`RejectedRow`.
* :mod:`acdflow.transform.interactions` — interaction records with their handling time.
* :mod:`acdflow.transform.agent_status` — status names, historical events and live status.

Both implement the product rules of docs/8x8-api-notes.md, “Product rules acdflow reproduces”.

AHT per interval and the historical status intervals are computed in the warehouse only
(``include/sql/interactions/aggregate_aht.sql``, ``include/sql/agent_status/load*.sql``).

Time-window and timestamp/duration parsing live in :mod:`acdflow.timewindow`.
"""

from __future__ import annotations

from acdflow.transform.agent_status import (
    LiveSkip,
    LiveStatus,
    StatusEvent,
    StatusEventBatch,
    live_status_from_agent,
    live_statuses,
    status_name,
    transform_status_events,
)
from acdflow.transform.interactions import (
    InteractionBatch,
    InteractionRecord,
    transform_interactions,
)
from acdflow.transform.rows import RejectedRow, RowShapeError, metrics_to_dict, row_to_dict

__all__ = [
    "InteractionBatch",
    "InteractionRecord",
    "LiveSkip",
    "LiveStatus",
    "RejectedRow",
    "RowShapeError",
    "StatusEvent",
    "StatusEventBatch",
    "live_status_from_agent",
    "live_statuses",
    "metrics_to_dict",
    "row_to_dict",
    "status_name",
    "transform_interactions",
    "transform_status_events",
]
