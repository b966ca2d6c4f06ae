"""Builders for 8x8 report rows used by the transform tests (independent of acdflow_dev.sim)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

# Sentinel: leave the key out of the row entirely (as opposed to sending null).
OMIT: Any = object()


def load(name: str) -> Any:
    """One payload of the example scenario in ``data/``, parsed.

    The scenario: a US tenant whose report zone is America/Los_Angeles (UTC−8 on 2025-11-18).

    * ``interactions_page1.json``, ``interactions_page2.json``: both pages of one
      ``detailed-reports-interaction-details`` report for 16:45–17:15 UTC with participants: a chat
      abandoned in its queue, a phone call whose first offer timed out before Sam Okafor accepted it,
      and a direct outbound call without a queue.
    * ``agent_status_changes.json``: one page of ``detailed-reports-agent-status-change`` for two agents
      (Maria Lopez, Sam Okafor), 19:47–20:29 UTC.
    * ``realtime_agents.json``: the realtime ``/agents`` answer at 20:30 UTC for the same two agents
      and a logged-out one (Priya Natarajan); its open statuses agree with the status changes.

    The payloads were written for these tests in the shapes 8x8 documents; none was captured from 8x8.
    """
    return json.loads((DATA / name).read_text())


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def row(fields: dict[str, Any]) -> dict[str, Any]:
    """A detailed-report row from ``{key: value}`` (OMIT values are left out)."""
    return {
        "total": None,
        "items": [{"key": k, "label": k, "value": v} for k, v in fields.items() if v is not OMIT],
    }


def participant(
    action: Any = "Accepted",
    offer_action: str | None = "2025-11-18T09:00:00.000-08:00",
    handling_end: str | None = "2025-11-18T09:05:00.000-08:00",
    wrap_up_end: str | None = "2025-11-18T09:06:00.000-08:00",
    **extra: Any,
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "participantType": "Agent",
        "participantOfferAction": action,
        "participantOfferActionTime": offer_action,
        "participantHandlingEndTime": handling_end,
        "participantWrapUpEndTime": wrap_up_end,
    }
    p.update(extra)
    return p


def interaction(**overrides: Any) -> dict[str, Any]:
    """A valid, queued, inbound, handled phone interaction row; keyword overrides per field."""
    fields: dict[str, Any] = {
        "participants": [participant()],
        "time": "2025-11-18T08:59:55.000-08:00",
        "direction": "InboundDir",
        "finishedTime": {"value": "2025-11-18T09:05:00.001-08:00", "ongoing": False},
        "interactionId": "int-1-phone",
        "interactionLabels": ["Queued", "Handled"],
        "mediaType": "Phone",
        "queueId": "412",
        "queueName": "Support EN",
        "queueTime": "2025-11-18T08:59:58.000-08:00",
        "transactionId": "1",
    }
    fields.update(overrides)
    return row(fields)


def status_row(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": "2025-11-18T12:00:03.000-08:00",
        "agent": "Maria Lopez",
        "agentId": "agQm3LxT0cRk2m1vYp8Zb9Aa",
        "status": "OnBreak",
        "statusCode": "Lunch",
    }
    fields.update(overrides)
    return row(fields)


def agent(metrics: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    a: dict[str, Any] = {
        "id": "agX",
        "name": "Agent X",
        "groupId": "131",
        "groupName": "G",
        "metrics": [{"key": k, "value": v} for k, v in metrics.items() if v is not OMIT],
    }
    a.update(overrides)
    return a
