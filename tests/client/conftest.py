"""Fixtures for the client's integration tests: real simulators serving real HTTP on loopback.

Simulators are started once per configuration and shared; the per-test ``sim`` fixture resets the
parts tests change (faults, request log, clock), so tests stay independent and fast.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from acdflow.eightbyeight import EightByEightClient, EightByEightSettings


def sim_api() -> Any:
    """The simulator package, imported only by tests that use it (the offline tests do not)."""
    import acdflow_dev.sim

    return acdflow_dev.sim


CLIENT_ID = "acd-client"
CLIENT_SECRET = "acd-secret-Value-0042"
# A fixed simulator "now": 2025-11-18 12:30 in Los Angeles (the scenario of tests/transform/data).
SIM_NOW = datetime(2025, 11, 18, 20, 30, tzinfo=UTC)


@dataclass
class RunningSim:
    """A simulator and the base URL its HTTP server listens on."""

    sim: Any
    base_url: str
    config: Any

    def reset(self) -> None:
        self.sim.faults.clear()
        self.clear_request_log()
        self.sim.clock.set(SIM_NOW)

    def log(self, path_contains: str = "") -> list[Any]:
        """Logged requests whose path contains ``path_contains``, once the log has settled.

        The simulator appends a record after writing the response, so the client can be done
        before the last record lands; wait until two reads 20 ms apart agree.
        """
        records = self.sim.request_log()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            time.sleep(0.02)
            again = self.sim.request_log()
            if len(again) == len(records):
                break
            records = again
        return [r for r in records if path_contains in r.path]

    def clear_request_log(self) -> None:
        self.log()  # let records of requests already answered land first
        self.sim.clear_request_log()

    def client(self, *, clock: Callable[[], float] | None = None, **overrides: Any) -> EightByEightClient:
        """A client pointed at this simulator, with fast backoff unless a test overrides it."""
        tenant = self.config.tenants[0]
        values: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "region": tenant.region,
            "timezone": tenant.timezone,
            "base_url": self.base_url,
            "integration": "sim-test",
            "timeout_s": 5.0,
            "max_attempts": 5,
            "backoff_base_s": 0.01,
            "backoff_cap_s": 0.05,
        }
        values.update(overrides)
        kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return EightByEightClient(EightByEightSettings(**values), **kwargs)


class SimPool:
    """Starts each distinct simulator configuration once per session."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._running: dict[str, RunningSim] = {}

    def get(self, config: Any) -> RunningSim:
        key = repr(config)  # SimConfig holds a dict, so it is not hashable
        running = self._running.get(key)
        if running is None:
            sim = sim_api().Simulator(config)
            server = self._stack.enter_context(sim.serve(host="127.0.0.1", port=0))
            running = RunningSim(sim=sim, base_url=server.base_url, config=config)
            self._running[key] = running
        running.reset()
        return running


def sim_config(**kwargs: Any) -> Any:
    """A one-tenant configuration with this suite's credentials and clock."""
    defaults: dict[str, Any] = {
        "seed": 7,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "now": SIM_NOW,
        "scale": 2000,
    }
    defaults.update(kwargs)
    return sim_api().SimConfig.single(**defaults)


@pytest.fixture(scope="session")
def sim_pool() -> Iterator[SimPool]:
    with contextlib.ExitStack() as stack:
        yield SimPool(stack)


@pytest.fixture
def sim(sim_pool: SimPool) -> Iterator[RunningSim]:
    """The default US tenant (acmecorp01, America/Los_Angeles), reset for this test."""
    running = sim_pool.get(sim_config())
    yield running
    running.reset()


@pytest.fixture
def make_sim(sim_pool: SimPool) -> Iterator[Callable[..., RunningSim]]:
    """Another configuration: ``make_sim(region="eu", timezone="Europe/Helsinki")``."""
    started: list[RunningSim] = []

    def factory(config: Any = None, **kwargs: Any) -> RunningSim:
        running = sim_pool.get(config if config is not None else sim_config(**kwargs))
        started.append(running)
        return running

    yield factory
    for running in started:
        running.reset()


def with_tenant(config: Any, **changes: Any) -> Any:
    return replace(config, tenants=tuple(replace(t, **changes) for t in config.tenants))
