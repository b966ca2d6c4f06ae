"""Configuration of the simulator: tenants, the credential and the behaviour switches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

REGIONS: dict[str, str] = {"us": "", "eu": "/eu", "au": "/au", "ca": "/ca"}
PREFIX_TO_REGION: dict[str, str] = {prefix: region for region, prefix in REGIONS.items()}


@dataclass(frozen=True)
class TenantConfig:
    """One 8x8 contact-center tenant.

    ``scale`` is the mean number of interactions per day; ``agents`` defaults to a head count that
    fits that volume. ``extra_timezones`` are accepted as report ``timezone`` besides the default
    zone and ``UTC`` (8x8 accepts only zones configured for the tenant).
    """

    tenant_id: str = "acmecorp01"
    region: str = "us"
    timezone: str = "America/Los_Angeles"
    scale: int = 2000
    agents: int | None = None
    extra_timezones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r}; expected one of {sorted(REGIONS)}")
        ZoneInfo(self.timezone)
        for zone in self.extra_timezones:
            ZoneInfo(zone)
        if self.scale < 0:
            raise ValueError("scale must be >= 0")
        if self.agents is not None and not 1 <= self.agents <= 999:
            raise ValueError("agents must be between 1 and 999")

    @property
    def allowed_timezones(self) -> tuple[str, ...]:
        zones = [self.timezone, "UTC", *self.extra_timezones]
        return tuple(dict.fromkeys(zones))

    @property
    def agent_count(self) -> int:
        if self.agents is not None:
            return self.agents
        # About 50 handled interactions per agent-day, but never fewer than the shift plan needs for
        # round-the-clock coverage, and capped so live derivation stays cheap at 100,000/day.
        return max(12, min(200, self.scale // 50))


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the simulated world and the HTTP behaviour."""

    seed: int = 1
    client_id: str = "acdflow-demo"
    client_secret: str = "acdflow-demo-secret"  # noqa: S105 - public demo credential
    tenants: tuple[TenantConfig, ...] = (TenantConfig(),)
    quirk: bool = True
    faults: str = ""
    now: datetime | None = None
    token_ttl_seconds: int = 1800
    agent_status_case: str = "pascal"
    legacy_duration_strings: bool = False
    detailed_create_as_array: bool = False
    max_interaction_minutes: int = 180
    agents_metrics_required: bool = False
    report_retention_hours: float = 24.0
    first_report_id: int = 2_700_000
    duplicate_event_rate: float = 0.004
    late_finisher_rate: float = 0.04
    # A tenant that reads dateRange and writes offsets in its default zone whatever `timezone`
    # the request names: the data then disagrees with a client configured for another zone.
    ignore_report_timezone: bool = False
    # Per tenant: rendered JSON of final report rows kept for re-reads (see acdflow_dev.sim.reports).
    # 100,000 interactions/day with participants take about 3 KB a row; 0 turns the cache off.
    fragment_cache_mb: int = 1024

    def __post_init__(self) -> None:
        if not self.tenants:
            raise ValueError("at least one tenant is required")
        ids = [t.tenant_id for t in self.tenants]
        if len(set(ids)) != len(ids):
            raise ValueError("tenant ids must be unique")
        if self.agent_status_case not in ("pascal", "camel"):
            raise ValueError("agent_status_case must be 'pascal' or 'camel'")
        if self.now is not None and self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        if not 20 < self.max_interaction_minutes <= 24 * 60:
            raise ValueError("max_interaction_minutes must be in (20, 1440]")
        if self.token_ttl_seconds < 2:
            raise ValueError("token_ttl_seconds must be >= 2")
        if self.fragment_cache_mb < 0:
            raise ValueError("fragment_cache_mb must be >= 0")

    @classmethod
    def single(
        cls,
        *,
        tenant_id: str = "acmecorp01",
        region: str = "us",
        timezone: str = "America/Los_Angeles",
        scale: int = 2000,
        agents: int | None = None,
        extra_timezones: tuple[str, ...] = (),
        **kwargs: object,
    ) -> SimConfig:
        """The common one-tenant case; other keyword arguments are ``SimConfig`` fields."""
        tenant = TenantConfig(
            tenant_id=tenant_id,
            region=region,
            timezone=timezone,
            scale=scale,
            agents=agents,
            extra_timezones=extra_timezones,
        )
        return cls(tenants=(tenant,), **kwargs)  # type: ignore[arg-type]

    @property
    def multi_tenant(self) -> bool:
        return len(self.tenants) > 1

    def tenant(self, tenant_id: str | None = None) -> TenantConfig:
        if tenant_id is None:
            return self.tenants[0]
        for tenant in self.tenants:
            if tenant.tenant_id == tenant_id:
                return tenant
        raise KeyError(tenant_id)
