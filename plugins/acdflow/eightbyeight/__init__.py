"""8x8 Contact Center access: settings, errors, the HTTP client and (in ``hook``) its Airflow hook.

Importing this package does not import Airflow; ``acdflow.eightbyeight.hook`` does.
"""

from __future__ import annotations

from acdflow.eightbyeight.client import (
    AGENT_STATUS_CHANGE,
    DEFAULT_LIVE_METRICS,
    INTERACTION_DETAILS,
    ClientStats,
    DetailedPage,
    EightByEightClient,
)
from acdflow.eightbyeight.errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    EightByEightError,
    PaginationError,
    ReportFailedError,
    ReportNotFoundError,
    TenantHeaderError,
    TransientApiError,
)
from acdflow.eightbyeight.settings import EightByEightSettings, settings_from_connection

__all__ = [
    "AGENT_STATUS_CHANGE",
    "DEFAULT_LIVE_METRICS",
    "INTERACTION_DETAILS",
    "ApiError",
    "AuthenticationError",
    "ClientStats",
    "ConfigurationError",
    "DetailedPage",
    "EightByEightClient",
    "EightByEightError",
    "EightByEightSettings",
    "PaginationError",
    "ReportFailedError",
    "ReportNotFoundError",
    "TenantHeaderError",
    "TransientApiError",
    "settings_from_connection",
]
