"""Airflow import error for problems in include/integrations.yaml (no DAG is defined here).

Kept apart from acdflow_integrations.py so a broken entry never hides the valid integrations'
DAGs: this file fails to import, naming each bad entry and field, while the other file loads.
"""

from acdflow.config import raise_for_issues

raise_for_issues()
