"""Data-quality checks of imported 8x8 data, run with Great Expectations.

:mod:`acdflow.quality.drift` checks agent status imports for time drift (contract 4.7) and
:mod:`acdflow.quality.store` records the outcome in ``<schema>.dq_results``. Importing this package
is cheap: pandas and Great Expectations are imported only when a check runs.
"""

from __future__ import annotations

from acdflow.quality.drift import (
    CHECK_LIVE_VS_HISTORY,
    CHECK_OFFSET,
    CHECK_WINDOW,
    DriftCheckResult,
    LiveHistoryPair,
    StatusEventObservation,
    WindowShiftEstimate,
    classify_live_difference,
    estimate_window_shift,
    run_drift_checks,
)
from acdflow.quality.store import write_results

__all__ = [
    "CHECK_LIVE_VS_HISTORY",
    "CHECK_OFFSET",
    "CHECK_WINDOW",
    "DriftCheckResult",
    "LiveHistoryPair",
    "StatusEventObservation",
    "WindowShiftEstimate",
    "classify_live_difference",
    "estimate_window_shift",
    "run_drift_checks",
    "write_results",
]
