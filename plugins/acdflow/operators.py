"""The one operator behind every generated task: run a pipeline step with its run log.

A plain ``BaseOperator`` subclass rather than TaskFlow: a DAG folder with hundreds of
integrations builds thousands of tasks at every parse, and this costs about half as much per task.
The previous step's return value (ids and counts) is pulled from XCom by task id; the step's own
summary is returned and so pushed to XCom. No rows and no tokens ever travel that way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.sdk import BaseOperator

from acdflow.config import IntegrationSpec, WarehouseSpec

StepBody = Callable[[Any, str, Any, Mapping[str, Any]], dict[str, Any]]


class StepOperator(BaseOperator):
    """Runs ``body(run, warehouse_uri, previous_xcom, context)`` through
    :func:`acdflow.pipeline.steps.run_step`, which records the step in ``load_runs``."""

    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        spec: IntegrationSpec,
        warehouse: WarehouseSpec,
        body: StepBody,
        upstream_task_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.warehouse = warehouse
        self.body = body
        self.upstream_task_id = upstream_task_id

    def execute(self, context: Any) -> dict[str, Any]:
        from acdflow.pipeline.steps import run_step

        previous = (
            context["ti"].xcom_pull(task_ids=self.upstream_task_id)
            if self.upstream_task_id is not None
            else None
        )
        if self.upstream_task_id is not None and previous is None:
            raise RuntimeError(
                f"no result from upstream task {self.upstream_task_id!r}; clear it together with this one"
            )
        return run_step(
            self.spec, self.warehouse, context, lambda run, uri: self.body(run, uri, previous, context)
        )
