"""Airflow provider metadata, found through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from acdflow import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "acdflow",
        "name": "acdflow",
        "description": "Imports 8x8 contact-center data into a workforce-management warehouse.",
        "versions": [__version__],
    }
