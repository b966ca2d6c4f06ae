"""Pure transforms from raw 8x8 report rows to warehouse records (no I/O, no Airflow, no database).

* :mod:`acdflow.transform.rows` — row/metric flattening, :class:`RejectedRow`.
* :mod:`acdflow.transform.interactions` — interaction records and AHT (contract 15.2–15.5, 15.9).
* :mod:`acdflow.transform.agent_status` — status names, historical events/intervals and live status
  (contract 15.6–15.8).

Time-window and timestamp/duration parsing live in :mod:`acdflow.timewindow`.
"""

from __future__ import annotations

from acdflow.transform.agent_status import (
    LiveSkip,
    LiveStatus,
    StatusEvent,
    StatusEventBatch,
    StatusInterval,
    build_status_intervals,
    live_status_from_agent,
    live_statuses,
    status_name,
    transform_status_events,
)
from acdflow.transform.interactions import (
    AhtRow,
    InteractionBatch,
    InteractionRecord,
    aggregate_aht,
    transform_interactions,
)
from acdflow.transform.rows import RejectedRow, RowShapeError, metrics_to_dict, row_to_dict

__all__ = [
    "AhtRow",
    "InteractionBatch",
    "InteractionRecord",
    "LiveSkip",
    "LiveStatus",
    "RejectedRow",
    "RowShapeError",
    "StatusEvent",
    "StatusEventBatch",
    "StatusInterval",
    "aggregate_aht",
    "build_status_intervals",
    "live_status_from_agent",
    "live_statuses",
    "metrics_to_dict",
    "row_to_dict",
    "status_name",
    "transform_interactions",
    "transform_status_events",
]
