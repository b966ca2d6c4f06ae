"""Airflow DAGs of acdflow: one set per 8x8 integration declared in include/integrations.yaml.

Thin on purpose: the factory in plugins/acdflow builds every DAG from the local YAML file only.
"""

from acdflow.factory import build_all

globals().update(build_all())
