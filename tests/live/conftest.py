"""Fixtures of the live-poll tests."""

from __future__ import annotations

import pytest

from tests.live import livekit


@pytest.fixture
def fresh_schema(fresh_schema: str, warehouse_uri: str) -> str:
    """The test's schema, already migrated, as the poll task leaves it before the poll begins: the
    tests time windows from the warehouse's clock, and a migration must not eat into them."""
    livekit.migrate(warehouse_uri, fresh_schema)
    return fresh_schema
