"""Shared fixtures: a real PostgreSQL (embedded unless ``AIRFLOW_CONN_WFM_WAREHOUSE`` is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def warehouse_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a real PostgreSQL server for the whole test session."""
    configured = os.environ.get("AIRFLOW_CONN_WFM_WAREHOUSE")
    if configured:
        from acdflow.warehouse.connection import uri_from_airflow_conn

        yield uri_from_airflow_conn(configured)
        return
    from acdflow.warehouse.embedded import EmbeddedPostgres

    data_dir = REPO_ROOT / ".acdflow" / "tmp" / f"pg-test-{os.getpid()}"
    with EmbeddedPostgres(data_dir) as server:
        yield server.uri
