"""Airflow connections to a local 8x8 simulator, in the JSON form of ``AIRFLOW_CONN_<ID>``."""

from __future__ import annotations

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
