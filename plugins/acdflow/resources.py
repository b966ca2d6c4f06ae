"""Where acdflow finds its own files: the integrations file, the SQL and the expectation suites.

Each is looked up in the same order, first hit wins:

1. an explicit environment variable (``ACDFLOW_INTEGRATIONS``, ``ACDFLOW_SQL_DIR``,
   ``ACDFLOW_GX_ROOT``);
2. ``$AIRFLOW_HOME/include/…``, where an Astro project (and most Airflow images) keep their
   ``include/`` folder;
3. the copy shipped inside the package (``acdflow/include/…``), so an installed wheel works with
   nothing beside it.

Nothing here looks at the current directory or at the source tree's location: a task on a
Celery worker, a DAG processor and ``acdflow db`` resolve the same files the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

INTEGRATIONS_ENV = "ACDFLOW_INTEGRATIONS"
SQL_DIR_ENV = "ACDFLOW_SQL_DIR"
GX_ROOT_ENV = "ACDFLOW_GX_ROOT"

PACKAGE_INCLUDE = Path(__file__).resolve().parent / "include"

_INTEGRATIONS = "integrations.yaml"
_SQL = "sql"
_GX = "great_expectations"


def _resolve(env: str, relative: str) -> Path:
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit)
    airflow_home = os.environ.get("AIRFLOW_HOME")
    if airflow_home:
        candidate = Path(airflow_home) / "include" / relative
        if candidate.exists():
            return candidate
    return PACKAGE_INCLUDE / relative


def integrations_file() -> Path:
    """The integrations file (YAML) the DAG files and ``acdflow integrations`` read."""
    return _resolve(INTEGRATIONS_ENV, _INTEGRATIONS)


def sql_dir() -> Path:
    """The folder of the SQL files (``<kind>/<task_id>.sql``, ``migrations/``, ``roles/``)."""
    return _resolve(SQL_DIR_ENV, _SQL)


def gx_root() -> Path:
    """The Great Expectations project holding the committed expectation suites."""
    return _resolve(GX_ROOT_ENV, _GX)
