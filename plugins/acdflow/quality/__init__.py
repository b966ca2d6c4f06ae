"""Data-quality checks of imported 8x8 data, run with Great Expectations.

:mod:`acdflow.quality.drift` checks agent status imports for time drift (8x8 reading request times
as tenant-local wall clock, see docs/8x8-api-notes.md, “`dateRange` is read as tenant-local time”)
in an in-memory Great Expectations context (:mod:`acdflow.quality.gx_runner`),
:mod:`acdflow.quality.store` records the outcome in ``<schema>.dq_results`` and
:mod:`acdflow.quality.docs` renders that table as static HTML (``acdflow dq docs``). Importing this
package is cheap: pandas and Great Expectations are imported only when a check runs, psycopg only
when :func:`write_results` is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from acdflow.quality.drift import (
    CHECK_LIVE_VS_HISTORY,
    CHECK_OFFSET,
    CHECK_SUITES,
    CHECK_WINDOW,
    DriftCheckResult,
    LiveHistoryPair,
    StatusEventObservation,
    WindowShiftEstimate,
    classify_live_difference,
    estimate_window_shift,
    run_drift_checks,
)

if TYPE_CHECKING:
    from acdflow.quality.store import write_results

__all__ = [
    "CHECK_LIVE_VS_HISTORY",
    "CHECK_OFFSET",
    "CHECK_SUITES",
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


def __getattr__(name: str) -> Any:
    # ``acdflow`` (the CLI) imports acdflow.quality.cli, hence this package, for every command.
    if name == "write_results":
        return importlib.import_module("acdflow.quality.store").write_results
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
