"""Run the committed expectation suites on in-memory frames, in an ephemeral Great Expectations context.

The declared checks are the suite files ``expectations/<suite>.json`` of the folder
:func:`acdflow.resources.gx_root` resolves (``$ACDFLOW_GX_ROOT``, then
``$AIRFLOW_HOME/include/great_expectations``, then the copy shipped in the package). They are only
*read*, as plain JSON: the folder may be a read-only site-packages directory or a shared mount.

Each :func:`validate` call builds a throw-away context with ``gx.get_context(mode="ephemeral")``:
in-memory stores, no Data Docs site, a pandas data source with one dataframe asset whose batch is
the frame handed in. Nothing is written to disk, so there is nothing to lock, clean up or prune,
and a task on any worker (Celery, Kubernetes) behaves the same. Building the context costs
milliseconds; the verdicts go to the warehouse table ``dq_results``
(:mod:`acdflow.quality.store`), which is the record. Data Docs are built on demand from that table
by ``acdflow dq docs`` (:mod:`acdflow.quality.docs`), not per task.

Notes (great-expectations 1.24.1):

* Importing GX takes seconds; it happens inside :func:`validate`, never when a DAG file is parsed.
* GX logs at INFO and draws tqdm progress bars; the ``great_expectations`` logger is raised to
  WARNING and the context is configured without progress bars.
* ``gx.get_context`` makes the new context GX's process-wide "current" one, which suite objects
  bind to when created. A process-local lock keeps threads from interleaving that (Airflow runs one
  task per process, so it is never contended there).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acdflow.resources import GX_ROOT_ENV, gx_root

__all__ = [
    "GX_ROOT_ENV",
    "RESULT_FORMAT",
    "SUITES_DIR",
    "SuiteOutcome",
    "suite_definitions",
    "validate",
]

SUITES_DIR = "expectations"
# What the checks report per expectation: counts plus a few unexpected values, no full row lists.
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 10}
DATASOURCE = "acdflow_drift"
BATCH_DEFINITION = "whole_dataframe"
_SUMMARY_KWARGS = ("column", "column_A", "column_B", "min_value", "max_value", "value_set", "mostly")
_SUMMARY_RESULT = ("element_count", "unexpected_count", "missing_count", "unexpected_percent")

logger = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SuiteOutcome:
    suite: str
    success: bool
    expectations: list[dict[str, Any]]  # JSON-able summaries, one per expectation


def suite_definitions(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The committed suites under ``<root>/expectations/`` as JSON, by suite name (no GX import).

    ``root`` defaults to :func:`acdflow.resources.gx_root`. Raises ``FileNotFoundError`` when the
    folder holds no suite and ``ValueError`` when a file's ``name`` differs from its file name.
    """
    folder = (gx_root() if root is None else root) / SUITES_DIR
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no expectation suites (*.json) in {folder}")
    suites: dict[str, dict[str, Any]] = {}
    for path in files:
        definition = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(definition, dict) or definition.get("name") != path.stem:
            raise ValueError(f"{path}: the suite's name must be the file name {path.stem!r}")
        suites[path.stem] = definition
    return suites


def _json_able(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _raised(exception_info: Any) -> str | None:
    """The message of an exception GX caught while validating, if any.

    GX reports it either flat (``{"raised_exception": true, "exception_message": ...}``) or, for a
    metric that failed to compute (a missing column), per metric: ``{"<metric id>": {...}}``.
    """
    if not isinstance(exception_info, dict):
        return None
    for info in [exception_info, *exception_info.values()]:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def _summarize(suite_result: Any) -> SuiteOutcome:
    summaries: list[dict[str, Any]] = []
    for result in suite_result.results:
        data = result.to_json_dict()
        config = data.get("expectation_config") or {}
        message = _raised(data.get("exception_info"))
        if message is not None:
            # A broken suite or frame is a bug in acdflow, not drift in the data: fail loudly.
            raise RuntimeError(
                f"expectation {config.get('type')} of suite {suite_result.suite_name} raised: {message}"
            )
        kwargs = config.get("kwargs") or {}
        observed = data.get("result") or {}
        summary: dict[str, Any] = {"expectation": config.get("type"), "success": bool(data.get("success"))}
        summary.update({k: kwargs[k] for k in _SUMMARY_KWARGS if k in kwargs})
        summary.update({k: observed[k] for k in _SUMMARY_RESULT if k in observed})
        if "partial_unexpected_list" in observed:
            summary["partial_unexpected_list"] = observed["partial_unexpected_list"][:5]
        summaries.append(_json_able(summary))
    return SuiteOutcome(
        suite=str(suite_result.suite_name), success=bool(suite_result.success), expectations=summaries
    )


def _ephemeral_context() -> Any:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        # No Data Docs site at all (GX's ephemeral default configures one in a temporary folder).
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate(
    frame: Any,
    suites: Sequence[str],
    *,
    asset: str,
    parameters: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> dict[str, SuiteOutcome]:
    """Validate the pandas ``frame`` with each of the committed ``suites``; outcomes by suite name.

    ``asset`` names the dataframe asset (it appears in GX's batch id); ``parameters`` fill the
    suites' ``$PARAMETER`` placeholders; ``root`` is the folder holding ``expectations/`` (default
    :func:`acdflow.resources.gx_root`). An expectation that raises (a missing column, a broken
    suite) raises ``RuntimeError``; an unknown suite ``KeyError``.
    """
    folder = gx_root() if root is None else root
    definitions = suite_definitions(folder)
    unknown = [s for s in suites if s not in definitions]
    if unknown:
        raise KeyError(f"expectation suite(s) {unknown} not found in {folder / SUITES_DIR}")
    expectation_parameters = dict(parameters) if parameters else None
    with _lock:
        context = _ephemeral_context()
        from great_expectations.core.expectation_suite import ExpectationSuite, ExpectationSuiteSchema

        batch = (
            context.data_sources.add_pandas(DATASOURCE)
            .add_dataframe_asset(asset)
            .add_batch_definition_whole_dataframe(BATCH_DEFINITION)
            .get_batch(batch_parameters={"dataframe": frame})
        )
        schema = ExpectationSuiteSchema()
        results = [
            batch.validate(
                ExpectationSuite(**schema.load(definitions[name])),
                result_format=RESULT_FORMAT,
                expectation_parameters=expectation_parameters,
            )
            for name in suites
        ]
    outcomes = [_summarize(r) for r in results]
    return {o.suite: o for o in outcomes}
