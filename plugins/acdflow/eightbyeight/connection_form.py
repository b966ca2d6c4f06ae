"""The ``eightbyeight`` connection form, declared as data.

Airflow 3.2+ reads connection forms from provider info (``conn-fields`` and ``ui-field-behaviour``
of a ``connection-types`` entry) without importing the hook; the hook methods
``get_connection_form_widgets`` / ``get_ui_field_behaviour`` are deprecated there and the former
needs wtforms, which Airflow 3.3 no longer installs. ``acdflow.provider`` publishes these
dictionaries; the hook derives its legacy ``get_ui_field_behaviour`` answer from the same data.

This module imports nothing from Airflow or the client, so provider discovery stays cheap.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "eightbyeight"
HOOK_NAME = "8x8 Contact Center"
HOOK_CLASS_NAME = "acdflow.eightbyeight.hook.EightByEightHook"

# Extra fields, stored unprefixed in the connection's extra JSON (settings.py also accepts the
# ``extra__eightbyeight__<name>`` keys older forms wrote).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region": {
        "label": "Account region",
        "description": "Region where the 8x8 Contact Center tenant is hosted.",
        "schema": {"type": "string", "enum": ["US", "EU", "AU", "CA"], "default": "US"},
    },
    "timezone": {
        "label": "Tenant time zone",
        "description": "IANA time zone of the 8x8 tenant, e.g. America/Los_Angeles; reports are read in it.",
        "schema": {"type": "string"},
    },
    "tenant_id": {
        "label": "Tenant id",
        "description": "Only for credentials that cover several tenants: sent as X-Tenant-Info.",
        "schema": {"type": ["string", "null"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "login": "Client ID",
        "password": "Client secret",
        "host": "Base URL (optional)",
    },
    "placeholders": {
        "login": "8x8 API key (Client ID)",
        "password": "8x8 API secret",
        "host": "https://api.8x8.com (leave empty); http://127.0.0.1:PORT for the simulator",
        "region": "US",
        "timezone": "America/Los_Angeles",
        "tenant_id": "acmecorp01 (multi-tenant credentials only)",
    },
}


def connection_type_info() -> dict[str, Any]:
    """The ``connection-types`` entry of the provider info."""
    return {
        "connection-type": CONN_TYPE,
        "hook-class-name": HOOK_CLASS_NAME,
        "hook-name": HOOK_NAME,
        "conn-fields": CONN_FIELDS,
        "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
    }
