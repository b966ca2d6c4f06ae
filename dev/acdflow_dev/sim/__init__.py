"""Local 8x8 simulator: a real HTTP server on loopback that behaves like 8x8's contact-center APIs.

It implements the parts of 8x8 the import uses (token endpoint, historical detailed reports,
realtime ``/agents``, regions, multitenancy, faults; see docs/8x8-api-notes.md) over a
deterministic, lazily generated world, and a ``GroundTruth`` of what a correct import must store.
8x8's summary-report flow is not simulated: nothing in acdflow reads summary reports::

    from acdflow_dev.sim import SimConfig, Simulator

    sim = Simulator(SimConfig.single(seed=7, timezone="America/Los_Angeles"))
    with sim.serve() as server:
        ...  # point the client at server.base_url
"""

from __future__ import annotations

from acdflow_dev.sim.clock import SimClock
from acdflow_dev.sim.config import SimConfig, TenantConfig
from acdflow_dev.sim.faults import FaultInjector, FaultSpec
from acdflow_dev.sim.groundtruth import (
    AgentStatusTruth,
    GroundTruth,
    InteractionTruth,
    IntervalAht,
    LiveStatus,
    LiveStatusTruth,
    RejectedAgentStatus,
    RejectedInteraction,
)
from acdflow_dev.sim.server import SimServer
from acdflow_dev.sim.simulator import RequestRecord, Simulator

__all__ = [
    "AgentStatusTruth",
    "FaultInjector",
    "FaultSpec",
    "GroundTruth",
    "InteractionTruth",
    "IntervalAht",
    "LiveStatus",
    "LiveStatusTruth",
    "RejectedAgentStatus",
    "RejectedInteraction",
    "RequestRecord",
    "SimClock",
    "SimConfig",
    "SimServer",
    "Simulator",
    "TenantConfig",
]
