"""The one operator behind every generated task: run a pipeline step with its run log.

A plain ``BaseOperator`` subclass rather than TaskFlow: a DAG folder with hundreds of
integrations builds thousands of tasks at every parse, and this costs about half as much per task.
The task runs ``<step_module>.<task_id>(step)`` (for a task in a group, such as the history DAG's
``interactions.load``, the id's last part); the module is imported when the task runs, never
when the DAG file is parsed (the steps pull in psycopg, requests and the transforms). A step reads
its upstream tasks' results (ids and counts) from XCom by task id and returns its own summary,
pushed to XCom. No rows and no tokens ever travel that way.

The live poll (:class:`LiveStatusPollOperator`) is the one task that defers: it prepares on a
worker, waits in the triggerer while the trigger polls, and resumes on a worker to record the run.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from airflow.sdk import BaseOperator

from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.pipeline import split_task_id


class StepOperator(BaseOperator):
    """Runs ``step_module.<task_id>`` through :func:`acdflow.pipeline.steps.run_step`, which
    records the step in ``load_runs``."""

    ui_color = "#e8f1fb"

    def __init__(
        self, *, spec: IntegrationSpec, warehouse: WarehouseSpec, step_module: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.warehouse = warehouse
        self.step_module = step_module

    def execute(self, context: Any) -> dict[str, Any]:
        from acdflow.pipeline.steps import run_step

        function = getattr(importlib.import_module(self.step_module), split_task_id(self.task_id)[1])
        return run_step(self.spec, self.warehouse, context, function)


class LiveStatusPollOperator(StepOperator):
    """``poll_live_status``: :func:`acdflow.pipeline.live_status.poll_live_status` prepares the poll,
    the task defers to its :class:`acdflow.live.trigger.LiveStatusTrigger` (no worker slot is held
    while it polls), and :func:`acdflow.pipeline.live_status.finish_live_status` records the run
    when the trigger fires. One ``load_runs`` row per try, written when the try ends."""

    def execute(self, context: Any) -> dict[str, Any]:
        from acdflow.pipeline.live_status import poll_live_status
        from acdflow.pipeline.steps import Step, run_step
        from acdflow.runtime import run_info

        ti = context["ti"]
        step = Step(
            self.spec, self.warehouse, run_info(context), lambda task_id: ti.xcom_pull(task_ids=task_id)
        )
        try:
            deferral = poll_live_status(step)
        except Exception as exc:
            # Recorded like any failed step (run_step raises it again).
            run_step(self.spec, self.warehouse, context, functools.partial(_raise, exc))
            raise
        self.defer(trigger=deferral.trigger, method_name="execute_complete", timeout=deferral.timeout)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from acdflow.pipeline.live_status import finish_live_status
        from acdflow.pipeline.steps import run_step

        return run_step(
            self.spec, self.warehouse, context, functools.partial(finish_live_status, event=event)
        )


def _raise(error: BaseException, _step: Any) -> dict[str, Any]:
    raise error
