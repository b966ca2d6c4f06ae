"""Airflow connections to a local 8x8 simulator, in the JSON form of ``AIRFLOW_CONN_<ID>``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def eightbyeight_conn(
    base_url: str,
    client_id: str,
    client_secret: str,
    *,
    region: str,
    timezone: str,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """An ``eightbyeight`` connection whose host is the simulator's URL (what a user would
    otherwise leave empty for 8x8's regional endpoints)."""
    extra: dict[str, Any] = {"region": region, "timezone": timezone}
    if tenant_id is not None:
        extra["tenant_id"] = tenant_id
    return {
        "conn_type": "eightbyeight",
        "login": client_id,
        "password": client_secret,
        "host": base_url,
        "extra": extra,
    }


def local_airflow_env(
    warehouse_uri: str, integrations: Path, connections: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """The environment of a local Airflow that runs acdflow's DAGs against an embedded warehouse:
    the warehouse as connection ``wfm_warehouse``, the integrations file, every other connection
    by id, DAGs paused at creation (the caller unpauses what it measures) and quiet logs."""
    from acdflow_dev.embedded import airflow_conn_from_uri

    env = {
        "AIRFLOW_CONN_WFM_WAREHOUSE": json.dumps(airflow_conn_from_uri(warehouse_uri)),
        "ACDFLOW_INTEGRATIONS": str(integrations),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    env.update({f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in connections.items()})
    return env
