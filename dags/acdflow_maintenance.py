"""Airflow DAG of acdflow's retention: one ``acdflow_maintenance`` DAG for every integration.

Thin on purpose: acdflow.maintenance builds it from the local integrations file only.
"""

from acdflow.maintenance import build_all

globals().update(build_all())
