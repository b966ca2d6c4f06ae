"""Airflow provider metadata, found through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from acdflow import __version__
from acdflow.eightbyeight.connection_form import connection_type_info


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "acdflow",
        "name": "acdflow",
        "description": "Imports 8x8 contact-center data into a workforce-management warehouse.",
        "versions": [__version__],
        # Makes `airflow connections` and the UI know conn_type "eightbyeight" with its form.
        "connection-types": [connection_type_info()],
    }
