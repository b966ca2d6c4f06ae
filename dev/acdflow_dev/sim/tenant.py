"""Per-tenant runtime state: the world, the lazy generators and the render options."""

from __future__ import annotations

from acdflow_dev.sim.agentstatus import StatusEventLog
from acdflow_dev.sim.config import SimConfig, TenantConfig
from acdflow_dev.sim.fragments import FragmentCache
from acdflow_dev.sim.interactions import InteractionGenerator
from acdflow_dev.sim.world import TenantWorld


class TenantState:
    def __init__(self, config: SimConfig, tenant: TenantConfig) -> None:
        self.config = tenant
        self.tenant_id = tenant.tenant_id
        self.world = TenantWorld(config.seed, tenant)
        self.interactions = InteractionGenerator(
            self.world,
            late_rate=config.late_finisher_rate,
            max_interaction_minutes=config.max_interaction_minutes,
        )
        self.status_log = StatusEventLog(self.world, duplicate_rate=config.duplicate_event_rate)
        self.fragments = FragmentCache(config.fragment_cache_mb * 1024 * 1024)
