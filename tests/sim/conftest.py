"""Fixtures for the simulator tests: a simulator on 127.0.0.1 (real sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from acdflow_dev.sim import SimConfig, SimServer, Simulator

from .helpers import NOW, Api


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SimConfig.single(seed=7, now=NOW))


@pytest.fixture(scope="module")
def server(sim: Simulator) -> Iterator[SimServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture
def api(server: SimServer) -> Api:
    return Api(server.base_url)
