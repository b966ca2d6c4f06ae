"""Run the committed Great Expectations checkpoints of ``great_expectations/`` on in-memory frames.

The file data context is only *read*: suites, validation definitions and checkpoints are committed
data and are never saved from here, so a worker never rewrites tracked files. GX writes validation
results and Data Docs under ``uncommitted/`` only.

Traps handled here (great-expectations 1.24.1):

* ``gx.get_context(mode="file")`` without ``context_root_dir`` scaffolds a new, empty project in
  ``<cwd>/gx`` next to ours (and a bare ``gx.get_context()`` then prefers ``gx/`` over
  ``great_expectations/``); a ``context_root_dir`` without ``great_expectations.yml`` scaffolds an
  empty one in place. So the root is always explicit and must hold the committed configuration.
  (The ignored ``uncommitted/`` folder may be missing: 1.24.1 treats the yml alone as scaffolded.)
* Deserialising a checkpoint looks its validation definitions up in the *current* context (the one
  most recently returned by ``get_context``); checkpoints are therefore loaded right after their
  context is created, under a lock. Once loaded they stay bound to their own context.
* Importing GX takes seconds; it happens on first use, never when a DAG file is parsed. Context and
  checkpoints are cached per process and root.
* GX logs at INFO and draws tqdm progress bars; the logger is raised to WARNING here and the bars
  are off in ``great_expectations.yml``.
* Every run stores a validation result and the Data Docs index re-reads them all, so both grow
  without bound; results beyond the newest :data:`KEEP_RESULTS_PER_SUITE` per suite are pruned
  (the warehouse table ``dq_results`` is the record, Data Docs a window on recent runs).
* Several task processes on one worker may validate at once; one file lock per context serialises
  writes to ``uncommitted/`` so no run reads another's half-written result.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acdflow.resources import GX_ROOT_ENV, gx_root

__all__ = [
    "GX_ROOT_ENV",
    "KEEP_RESULTS_PER_SUITE",
    "CheckpointOutcome",
    "SuiteOutcome",
    "default_context_root",
    "reset_cache",
    "run_checkpoint",
]

KEEP_RESULTS_PER_SUITE = 100
DOCS_SITE = "local_site"
_LOCK_FILE = ".acdflow-gx.lock"
_SUMMARY_KWARGS = ("column", "column_A", "column_B", "min_value", "max_value", "value_set", "mostly")
_SUMMARY_RESULT = ("element_count", "unexpected_count", "missing_count", "unexpected_percent")

logger = logging.getLogger(__name__)


def default_context_root() -> Path:
    """The Great Expectations project, as :func:`acdflow.resources.gx_root` resolves it."""
    return gx_root()


@dataclass(frozen=True, slots=True)
class SuiteOutcome:
    suite: str
    success: bool
    expectations: list[dict[str, Any]]  # JSON-able summaries, one per expectation


@dataclass(frozen=True, slots=True)
class CheckpointOutcome:
    suites: dict[str, SuiteOutcome]
    docs_index: str | None  # the Data Docs index page, when this run updated it


@dataclass(frozen=True, slots=True)
class _Project:
    context: Any
    checkpoints: dict[str, Any]


_projects: dict[Path, _Project] = {}
# Re-entrant: a thread holds it across loading a context and its checkpoints and across a run.
_lock = threading.RLock()


def reset_cache() -> None:
    """Forget cached contexts (tests that build several roots in one process)."""
    with _lock:
        _projects.clear()


def _project(root: Path) -> _Project:
    with _lock:
        cached = _projects.get(root)
        if cached is not None:
            return cached
        if not (root / "great_expectations.yml").is_file():
            # GX would silently scaffold an empty project here instead of failing.
            raise FileNotFoundError(
                f"no Great Expectations project at {root} (great_expectations.yml missing)"
            )
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        import great_expectations as gx

        context = gx.get_context(mode="file", context_root_dir=str(root))
        checkpoints = {cp.name: cp for cp in context.checkpoints.all()}
        project = _Project(context=context, checkpoints=checkpoints)
        _projects[root] = project
        return project


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    with _lock:
        try:
            (root / "uncommitted").mkdir(exist_ok=True)
            handle = (root / "uncommitted" / _LOCK_FILE).open("a")
        except OSError:
            # A read-only checkout cannot hold results either; let GX report that, not the lock.
            yield
            return
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _json_able(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _summarize(suite_result: Any) -> SuiteOutcome:
    summaries: list[dict[str, Any]] = []
    for result in suite_result.results:
        data = result.to_json_dict()
        config = data.get("expectation_config") or {}
        exception = data.get("exception_info") or {}
        if exception.get("raised_exception"):
            # A broken suite or frame is a bug in acdflow, not drift in the data: fail loudly.
            raise RuntimeError(
                f"expectation {config.get('type')} of suite {suite_result.suite_name} raised: "
                f"{exception.get('exception_message')}"
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


def _prune(root: Path, keep: int) -> None:
    """Keep the newest ``keep`` validation results per suite; the next docs build drops their pages."""
    store = root / "uncommitted" / "validations"
    if not store.is_dir():
        return
    for suite_dir in store.iterdir():
        if not suite_dir.is_dir():
            continue
        # Layout <suite>/<run_name>/<run_time>/<batch>.json; run_time (20261125T003802.017688Z)
        # sorts chronologically as text.
        results = sorted(suite_dir.glob("*/*/*.json"), key=lambda p: (p.parent.name, str(p)))
        for old in results[: max(len(results) - keep, 0)]:
            old.unlink(missing_ok=True)
            for folder in (old.parent, old.parent.parent):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only succeeds once empty


def run_checkpoint(
    root: Path,
    checkpoint_name: str,
    frame: Any,
    *,
    parameters: Mapping[str, Any],
    run_name: str,
    build_docs: bool = True,
    keep_results: int = KEEP_RESULTS_PER_SUITE,
) -> CheckpointOutcome:
    """Validate ``frame`` with every suite of the committed checkpoint ``checkpoint_name``.

    ``build_docs=True`` runs the checkpoint itself, whose action updates Data Docs. If that fails
    (Data Docs are a convenience, e.g. a full disk), the suites are re-run without it and a warning
    is logged; a failure of the validation itself propagates. ``build_docs=False`` runs the
    checkpoint's validation definitions directly, skipping its actions.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    root = root.resolve()
    project = _project(root)
    try:
        checkpoint = project.checkpoints[checkpoint_name]
    except KeyError:
        raise KeyError(f"checkpoint {checkpoint_name!r} is not defined in {root / 'checkpoints'}") from None
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    batch = {"dataframe": frame}
    expectation_parameters = dict(parameters)

    with _exclusive(root):
        suite_results: list[Any] | None = None
        docs_index: str | None = None
        if build_docs:
            try:
                result = checkpoint.run(
                    batch_parameters=batch, expectation_parameters=expectation_parameters, run_id=run_id
                )
                suite_results = list(result.run_results.values())
                docs_index = str(root / "uncommitted" / "data_docs" / DOCS_SITE / "index.html")
            except Exception:
                logger.warning(
                    "Data Docs not updated: checkpoint %s failed; validating without its actions",
                    checkpoint_name,
                    exc_info=True,
                )
        if suite_results is None:
            suite_results = [
                vd.run(
                    batch_parameters=batch,
                    expectation_parameters=expectation_parameters,
                    result_format=checkpoint.result_format,
                    run_id=run_id,
                )
                for vd in checkpoint.validation_definitions
            ]
        _prune(root, keep_results)

    suites = {s.suite: s for s in (_summarize(r) for r in suite_results)}
    return CheckpointOutcome(suites=suites, docs_index=docs_index)
