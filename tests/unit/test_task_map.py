"""One hop from a task id to its code: task ``t`` of DAG kind ``k`` is ``acdflow.pipeline.<k>.<t>``,
and task ``k.t`` of the history DAG (in task group ``k``) is the same function.

Checked for every task of every DAG the factory builds, so a renamed function, a missing
re-export or a task added without its step fails here rather than in a scheduled run.
"""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, datetime
from pathlib import Path

from acdflow import factory, maintenance
from acdflow.config import ConfigResult, IntegrationSpec, WarehouseSpec
from acdflow.operators import StepOperator
from acdflow.pipeline.steps import Step
from acdflow.resources import sql_dir


def _dags() -> list[object]:
    spec = IntegrationSpec(
        name="acme",
        conn_id="eightbyeight_acme",
        start_date=datetime(2026, 11, 1, tzinfo=UTC),
        history_start_date=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return list(factory.build_dags(ConfigResult(Path("-"), WarehouseSpec(), (spec,), ())).values())


def test_every_task_runs_the_function_named_like_it_in_its_kind_module() -> None:
    seen = set()
    for dag in _dags():
        dag_kind = dag.dag_id.split("__", 1)[1]  # type: ignore[attr-defined]
        for task in dag.tasks:  # type: ignore[attr-defined]
            assert isinstance(task, StepOperator)
            group, _, name = task.task_id.rpartition(".")
            # The history DAG: group k runs kind k's steps; its shared first step is in reports.py.
            kind = group or ("reports" if dag_kind == "history" else dag_kind)
            assert task.step_module == f"acdflow.pipeline.{kind}"
            function = getattr(importlib.import_module(task.step_module), name)
            parameters = list(inspect.signature(function).parameters.values())
            assert parameters[0].annotation in (Step, "Step"), (kind, task.task_id)
            assert all(p.default is not inspect.Parameter.empty for p in parameters[1:]), (kind, task.task_id)
            seen.add((kind, name))
    assert {k for k, _ in seen} == {"interactions", "agent_status", "live_status", "reports"}
    assert ("interactions", "aggregate_aht") in seen
    assert ("agent_status", "check_time_drift") in seen
    assert ("live_status", "poll_live_status") in seen


def test_sql_files_are_named_after_a_task_of_their_kind() -> None:
    tasks = {(kind.name, task) for kind in factory.KINDS for task in kind.tasks}
    tasks |= {("maintenance", prune.task_id) for prune in maintenance.PRUNES}
    # Statements shared by every report DAG live under reports/; the run log and the warehouse's
    # clock, which every kind of step uses, under steps/.
    shared = {("reports", task) for task in factory.KINDS[0].tasks} | {
        ("steps", "load_runs"),
        ("steps", "clock"),
    }
    root = sql_dir()
    named = [p for p in root.glob("*/*.sql") if p.parent.name not in {"migrations", "roles", "quality"}]
    assert named, f"no SQL files under {root}"
    for path in named:
        task = path.name.split(".", 1)[0]
        assert (path.parent.name, task) in tasks | shared, path.relative_to(root)
