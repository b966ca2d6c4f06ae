"""The pipeline steps behind the generated DAGs: plain functions, one per task.

The DAG factory refers to the step modules by name only, so parsing the DAG folder imports none of
them (nor psycopg, requests or the transforms they need).
"""

INTERACTION_REPORT = "detailed-reports-interaction-details"
AGENT_STATUS_REPORT = "detailed-reports-agent-status-change"
# The DAG kind that imports whole final days, ``<name>__history`` (acdflow.factory).
HISTORY_KIND = "history"


def split_task_id(task_id: str) -> tuple[str, str]:
    """A task's group and the step it runs: ``interactions.load`` is step ``load`` of group
    ``interactions``; a task outside any group has the group ``""``."""
    group, _, step = task_id.rpartition(".")
    return group, step


class TimeDriftError(RuntimeError):
    """The time-drift check found UTC/local drift in the agent-status data of an interval."""
