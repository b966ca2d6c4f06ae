"""Airflow local settings for an acdflow deployment.

Airflow imports this module in every one of its processes at start, from ``$AIRFLOW_HOME/config/``
(an Astronomer project copies this folder there; elsewhere copy the file, or add these lines to
the ``airflow_local_settings.py`` you already have). The scheduler and Celery workers then import
Great Expectations and the other task libraries once, instead of every task importing them again:
see ``acdflow.preload``.
"""

from acdflow.preload import preload_task_modules

preload_task_modules()
