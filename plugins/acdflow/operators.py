"""The one operator behind every generated task: run a pipeline step with its run log.

A plain ``BaseOperator`` subclass rather than TaskFlow: a DAG folder with hundreds of
integrations builds thousands of tasks at every parse, and this costs about half as much per task.
The task runs ``<step_module>.<task_id>(step)``; the module is imported when the task runs, never
when the DAG file is parsed (the steps pull in psycopg, requests and the transforms). A step reads
its upstream tasks' results (ids and counts) from XCom by task id and returns its own summary,
pushed to XCom. No rows and no tokens ever travel that way.
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow.sdk import BaseOperator

from acdflow.config import IntegrationSpec, WarehouseSpec


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

        function = getattr(importlib.import_module(self.step_module), self.task_id)
        return run_step(self.spec, self.warehouse, context, function)
