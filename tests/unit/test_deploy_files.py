"""The Astronomer deployment files agree with the code they configure (Docker cannot run here, so
these files are kept correct by reading them against the package)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from acdflow.config import parse_integration
from acdflow.eightbyeight.connection_form import CONN_FIELDS, CONN_TYPE
from acdflow.eightbyeight.settings import settings_from_connection

REPO = Path(__file__).resolve().parents[2]


def _settings() -> dict[str, Any]:
    document = yaml.safe_load((REPO / "airflow_settings.yaml.example").read_text())
    assert set(document) == {"airflow"}
    airflow: dict[str, Any] = document["airflow"]
    return airflow


def test_example_8x8_connections_are_valid_for_the_connection_type() -> None:
    connections = [c for c in _settings()["connections"] if c["conn_type"] == CONN_TYPE]
    assert connections, "the example must show an 8x8 connection"
    for conn in connections:
        extra = conn.get("conn_extra") or {}
        assert set(extra) <= set(CONN_FIELDS), f"unknown extra fields {set(extra) - set(CONN_FIELDS)}"
        settings = settings_from_connection(
            conn["conn_login"], conn["conn_password"], conn["conn_host"], extra, conn_id=conn["conn_id"]
        )
        assert settings.region == str(extra["region"]).lower()


def test_example_pools_are_the_ones_the_integration_needs() -> None:
    settings = _settings()
    conn_ids = {c["conn_id"] for c in settings["connections"] if c["conn_type"] == CONN_TYPE}
    expected: dict[str, int] = {}
    for conn_id in conn_ids:
        name = conn_id.removeprefix("eightbyeight_")
        spec = parse_integration({"name": name, "conn_id": conn_id, "start_date": "2026-01-01"})
        expected.update({p["name"]: p["slots"] for p in spec.pools()})
    declared = {p["pool_name"]: p["pool_slot"] for p in settings["pools"]}
    assert declared == expected


def test_example_warehouse_connection_is_the_default_one() -> None:
    from acdflow.config import WarehouseSpec

    ids = {c["conn_id"]: c["conn_type"] for c in _settings()["connections"]}
    assert ids[WarehouseSpec().conn_id] == "postgres"


def test_dockerfile_uses_the_astro_runtime_of_the_locked_airflow() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    airflow = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    python = re.search(r'requires-python = "==(\d+\.\d+)', (REPO / "pyproject.toml").read_text())
    assert python
    dockerfile = (REPO / "Dockerfile").read_text()
    image = re.search(
        r"^FROM astrocrpublic\.azurecr\.io/runtime:(\d+)\.(\d+)-\d+-python-(\S+)$", dockerfile, re.M
    )
    assert image, "the Dockerfile must start from an Astro Runtime 3 image"
    assert f"{image.group(1)}.{image.group(2)}" == ".".join(airflow.split(".")[:2])
    assert image.group(3) == python.group(1)


def test_credentials_file_is_never_committed_or_shipped() -> None:
    for ignore in (".gitignore", ".dockerignore"):
        assert "airflow_settings.yaml" in (REPO / ignore).read_text().split()
