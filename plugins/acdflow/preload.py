"""Import what acdflow's tasks need once, in the Airflow process that forks the task processes.

Every Airflow 3 task runs in a process forked from a long-lived parent: a LocalExecutor worker
(itself forked from the scheduler) or a Celery worker's pool process. A module that parent has
imported costs a task nothing; one it has not is imported again by every task. Great Expectations
takes 6 to 10 seconds to import, so without this ``check_time_drift`` spends most of its wall time
importing. Deployments enable it in ``airflow_local_settings.py`` (``$AIRFLOW_HOME/config/`` or
anywhere on the Python path), which every Airflow process imports at start::

    from acdflow.preload import preload_task_modules

    preload_task_modules()

Only the processes that fork tasks import anything (``airflow scheduler`` for the LocalExecutor,
``airflow celery worker``); the API server, DAG processor and triggerer stay as they are. On the
KubernetesExecutor every task is a new pod, so there is nothing to preload into.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)

# Third-party first: the acdflow modules below import them lazily, so the list stays the same
# whichever acdflow module a task starts from. None of these imports Airflow at module level,
# which matters because this runs while Airflow itself is still initialising.
TASK_MODULES: tuple[str, ...] = (
    "great_expectations",
    "pandas",
    "psycopg",
    "requests",
    "acdflow.quality.gx_runner",
    "acdflow.quality.drift",
    "acdflow.transform.interactions",
    "acdflow.transform.agent_status",
)

# The Airflow commands whose process (or whose forked children) fork task processes.
_FORKING_COMMANDS: tuple[tuple[str, ...], ...] = (("scheduler",), ("celery", "worker"))


def forks_task_processes(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (an ``airflow …`` command line) starts a process that forks tasks."""
    words = [a for a in argv[1:] if not a.startswith("-")]
    return any(tuple(words[: len(command)]) == command for command in _FORKING_COMMANDS)


def preload_task_modules(argv: Sequence[str] | None = None) -> list[str]:
    """Import :data:`TASK_MODULES` if this process forks tasks; return the modules imported.

    A module that fails to import is logged and skipped: the task that needs it will raise the
    same error where it can be seen and alerted on, instead of the scheduler failing to start.
    """
    if not forks_task_processes(sys.argv if argv is None else argv):
        return []
    imported: list[str] = []
    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except Exception:
            log.warning("acdflow: could not preload %s; tasks will import it themselves", name, exc_info=True)
        else:
            imported.append(name)
    return imported
