"""Validated settings of one 8x8 integration, and how an Airflow connection maps onto them.

Connection mapping (connection type ``eightbyeight``):

* login = Client ID, password = Client secret (an 8x8 API key with the Analytics for Contact
  Center product);
* extra ``region``: account region ``US``/``EU``/``AU``/``CA`` (any case);
* extra ``timezone``: the tenant's report time zone, an IANA name (8x8 reads request times as
  wall clock in that zone; see docs/8x8-api-notes.md, “`dateRange` is read as tenant-local time”);
* extra ``tenant_id`` (optional): sent as ``X-Tenant-Info`` when the credential covers several
  tenants (see docs/8x8-api-notes.md, “Several tenants behind one credential: `X-Tenant-Info`”);
* extra ``integration`` (optional): a name used in error messages; defaults to the connection id;
* host (optional): base-URL override, e.g. ``http://127.0.0.1:8808`` for the local simulator.

This module does not import Airflow: the hook reads the Connection and calls
:func:`settings_from_connection`.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acdflow.eightbyeight.errors import ConfigurationError

Region = Literal["us", "eu", "au", "ca"]
REGIONS: tuple[Region, ...] = ("us", "eu", "au", "ca")

DEFAULT_ROOT_URL = "https://api.8x8.com"
# 8x8's region is a path prefix after the host; US has none.
REGION_PREFIX: Mapping[Region, str] = {"us": "", "eu": "/eu", "au": "/au", "ca": "/ca"}
# 8x8 accepts older path versions with other field lists; acdflow is pinned to these.
HISTORICAL_PATH = "/analytics/cc/v8/historical-metrics"
REALTIME_PATH = "/analytics/cc/v5/realtime-metrics"
# 8x8 documents one token endpoint for every region.
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a password

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class EightByEightSettings:
    """Everything the client needs to talk to one 8x8 tenant; validated on construction."""

    client_id: str
    # repr=False keeps the secret out of repr()/str() and therefore out of logs and tracebacks.
    client_secret: str = field(repr=False)
    region: Region
    timezone: str
    tenant_id: str | None = None
    base_url: str | None = None
    integration: str | None = None
    # Longest wait for one socket operation (connect, or one read).
    timeout_s: float = 30.0
    # Longest one attempt may take in all, connect and every read of the body included: a server
    # that trickles its answer cannot hold a task (and the integration's API pool slot) for long.
    deadline_s: float = 120.0
    # Largest body accepted; a 1,000-row page is a few MiB.
    max_response_bytes: int = 64 * 1024 * 1024
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigurationError(
                "; ".join(message for _, message in problems),
                fields=tuple(name for name, _ in problems),
                integration=self.integration,
            )

    @property
    def root_url(self) -> str:
        """Scheme + host (+ optional path) of the API, without a trailing slash."""
        return (self.base_url or DEFAULT_ROOT_URL).rstrip("/")

    @property
    def token_url(self) -> str:
        return f"{self.root_url}{TOKEN_PATH}"

    @property
    def historical_base_url(self) -> str:
        return f"{self.root_url}{REGION_PREFIX[self.region]}{HISTORICAL_PATH}"

    @property
    def realtime_base_url(self) -> str:
        return f"{self.root_url}{REGION_PREFIX[self.region]}{REALTIME_PATH}"


def _problems(settings: EightByEightSettings) -> list[tuple[str, str]]:
    """Every invalid field with a message that names it and says what is accepted."""
    problems: list[tuple[str, str]] = []
    if not isinstance(settings.client_id, str) or not settings.client_id.strip():
        problems.append(("client_id", "Client ID (login) is empty; set the 8x8 API key's Client ID"))
    if not isinstance(settings.client_secret, str) or not settings.client_secret:
        problems.append(("client_secret", "Client secret (password) is empty; set the 8x8 API key's secret"))
    if settings.region not in REGIONS:
        problems.append(
            ("region", f"region {settings.region!r} is not one of {', '.join(r.upper() for r in REGIONS)}")
        )
    tz_problem = _timezone_problem(settings.timezone)
    if tz_problem:
        problems.append(("timezone", tz_problem))
    if settings.tenant_id is not None and (
        not isinstance(settings.tenant_id, str) or not settings.tenant_id.strip()
    ):
        problems.append(("tenant_id", "tenant_id is blank; remove it or set the 8x8 tenant id"))
    if settings.base_url is not None:
        url_problem = base_url_problem(settings.base_url)
        if url_problem:
            problems.append(("base_url", url_problem))
    for name in ("timeout_s", "deadline_s", "backoff_base_s", "backoff_cap_s"):
        value = getattr(settings, name)
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            problems.append((name, f"{name} must be a positive number of seconds, got {value!r}"))
    if (
        not isinstance(settings.max_response_bytes, int)
        or isinstance(settings.max_response_bytes, bool)
        or settings.max_response_bytes < 1
    ):
        problems.append(
            (
                "max_response_bytes",
                f"max_response_bytes must be an integer >= 1, got {settings.max_response_bytes!r}",
            )
        )
    if not isinstance(settings.max_attempts, int) or settings.max_attempts < 1:
        problems.append(
            ("max_attempts", f"max_attempts must be an integer >= 1, got {settings.max_attempts!r}")
        )
    return problems


def _timezone_problem(name: object) -> str | None:
    accepted = "an IANA time zone name such as 'America/Los_Angeles' or 'Europe/Helsinki'"
    if not isinstance(name, str) or not name.strip():
        return f"timezone is empty; set {accepted}"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {name!r} is not a known time zone; use {accepted}"
    return None


def base_url_problem(url: str) -> str | None:
    """Why ``url`` is not an acceptable base-URL override, or None if it is.

    Plain ``http`` is allowed only for loopback hosts: the client sends the client secret and bearer
    tokens, which must never cross a network unencrypted (8x8 itself refuses plain HTTP); the only
    legitimate ``http`` target is the local simulator.
    """
    accepted = "use https://host[:port], or http://127.0.0.1:PORT / http://localhost:PORT for the simulator"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base URL {url!r} is not an http(s) URL; {accepted}"
    if parts.username is not None or parts.password is not None:
        return "base URL must not contain credentials; put them in login/password"
    if parts.query or parts.fragment:
        return f"base URL {url!r} must not have a query or fragment"
    try:
        parts.port  # noqa: B018 - raises ValueError for an out-of-range or non-numeric port
    except ValueError:
        return f"base URL {url!r} has an invalid port"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return (
            f"base URL {url!r} uses plain http for a non-loopback host {parts.hostname!r}; "
            "plain http would expose the client secret and tokens; use https"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _extra_value(extra: Mapping[str, Any], name: str) -> Any:
    # Forms of older Airflow versions stored custom fields as ``extra__<conn_type>__<name>``.
    for key in (name, f"extra__eightbyeight__{name}"):
        value = extra.get(key)
        if value is not None and value != "":
            return value
    return None


def settings_from_connection(
    login: str | None,
    password: str | None,
    host: str | None,
    extra: Mapping[str, Any],
    *,
    conn_id: str,
) -> EightByEightSettings:
    """Build settings from the fields of an Airflow connection; one error lists every bad field."""
    problems: list[tuple[str, str]] = []

    raw_region = _extra_value(extra, "region")
    region: str | None = None
    if raw_region is None:
        problems.append(
            ("region", "extra 'region' is missing; set the account region, one of US, EU, AU, CA")
        )
    elif not isinstance(raw_region, str) or raw_region.strip().lower() not in REGIONS:
        problems.append(
            ("region", f"extra 'region' is {raw_region!r}; accepted values are US, EU, AU, CA (any case)")
        )
    else:
        region = raw_region.strip().lower()

    timezone = _extra_value(extra, "timezone")
    if timezone is None:
        problems.append(
            (
                "timezone",
                "extra 'timezone' is missing; set the tenant's IANA time zone, e.g. 'America/Chicago'",
            )
        )
    elif (tz_problem := _timezone_problem(timezone)) is not None:
        problems.append(("timezone", f"extra {tz_problem}"))

    tenant_id = _extra_value(extra, "tenant_id")
    if tenant_id is not None and (not isinstance(tenant_id, str) or not tenant_id.strip()):
        problems.append(("tenant_id", f"extra 'tenant_id' must be a non-empty string, got {tenant_id!r}"))

    if not login or not login.strip():
        problems.append(("login", "login (Client ID) is empty; set the 8x8 API key's Client ID"))
    if not password:
        problems.append(("password", "password (Client secret) is empty; set the 8x8 API key's secret"))

    base_url = host.strip() if host and host.strip() else None
    if base_url is not None and "://" not in base_url:
        # A bare host name (URI-form connections split the scheme off) means HTTPS.
        base_url = f"https://{base_url}"
    if base_url is not None and (url_problem := base_url_problem(base_url)) is not None:
        problems.append(("host", url_problem))

    integration = _extra_value(extra, "integration") or conn_id
    if problems:
        raise ConfigurationError(
            "; ".join(message for _, message in problems),
            conn_id=conn_id,
            fields=tuple(name for name, _ in problems),
            integration=str(integration),
        )
    try:
        return EightByEightSettings(
            client_id=cast(str, login).strip(),
            client_secret=cast(str, password),
            region=cast(Region, region),
            timezone=cast(str, timezone),
            tenant_id=tenant_id.strip() if isinstance(tenant_id, str) else None,
            base_url=base_url,
            integration=str(integration),
        )
    except ConfigurationError as exc:
        # Anything the constructor still refuses gets the connection id attached.
        raise ConfigurationError(
            exc.detail, conn_id=conn_id, fields=exc.fields, integration=exc.integration
        ) from None
