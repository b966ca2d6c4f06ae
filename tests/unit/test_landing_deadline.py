"""The late-data alert of a missed landing deadline, delivered for real to a webhook receiver and an
SMTP server on loopback: what it says, what it never says, and that backfill runs only log.

The context is the one Airflow's scheduler hands the callback (``Deadline.handle_miss``): the run
as the REST API shows it, and the deadline. The whole path under a real scheduler and triggerer is
in tests/scheduler/test_assets_under_scheduler.py."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acdflow.alerts import landing_deadline_missed, late_alert_from_context
from acdflow_dev.local.webhook import WebhookReceiver as Receiver
from tests.e2e.alerting import Mailbox, mailbox, receiver
from tests.unit.test_alerts_text import channels

__all__ = ["channels", "mailbox", "receiver"]  # fixtures, used by name

START = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
QUEUED = START + timedelta(minutes=15, seconds=2)
SECRET = "s3cr3t-in-conf-9931"


def context(
    *, run_type: str = "scheduled", run_id: str = "scheduled__2026-11-10T18:00:00+00:00"
) -> dict[str, Any]:
    return {
        "dag_run": {
            "dag_run_id": run_id,
            "dag_id": "acme__interactions",
            "logical_date": START.isoformat(),
            "queued_at": QUEUED.isoformat(),
            "start_date": QUEUED.isoformat(),
            "end_date": None,
            "data_interval_start": START.isoformat(),
            "data_interval_end": (START + timedelta(minutes=15)).isoformat(),
            "run_after": (START + timedelta(minutes=15)).isoformat(),
            "run_type": run_type,
            "state": "running",
            "conf": {"password": SECRET},
            "note": f"<!channel> {SECRET}",
        },
        "deadline": {"id": "0199", "deadline_time": QUEUED + timedelta(minutes=60)},
    }


def _run(ctx: dict[str, Any]) -> str:
    return asyncio.run(
        landing_deadline_missed(
            integration="acme",
            minutes=60,
            webhook_conn_id="alert_webhook",
            email_to=["wfm-oncall@example.org"],
            smtp_conn_id="alert_smtp",
            context=ctx,
        )
    )


def test_a_missed_deadline_alerts_by_webhook_and_email(channels: tuple[Receiver, Mailbox]) -> None:
    receiver, box = channels
    result = _run(context(run_id="scheduled__<!everyone>\nX-Evil: 1"))
    assert result.startswith("sent: ")
    (body,) = receiver.received()
    assert body["kind"] == "landing_deadline_missed"
    assert body["integration"] == "acme"
    assert body["dag_id"] == "acme__interactions"
    assert body["data_interval_start"] == START.isoformat()
    assert body["data_interval_end"] == (START + timedelta(minutes=15)).isoformat()
    assert body["queued_at"] == QUEUED.isoformat()
    assert body["deadline"] == (QUEUED + timedelta(minutes=60)).isoformat()
    assert body["landing_deadline_minutes"] == 60
    assert body["state"] == "running"
    assert body["run_url"].endswith(
        "/dags/acme__interactions/runs/scheduled__%3C%21everyone%3E%0AX-Evil%3A%201"
    )
    # The free-text run id is one plain line; chat tools render only "text", which is escaped.
    assert body["run_id"] == "scheduled__<!everyone> X-Evil: 1"
    assert re.findall(r"<[^<>]*>", body["text"]) == []
    assert body["text"].endswith(f"(run state running; {body['run_url']})")
    (mail,) = box.messages
    assert mail["To"] == "wfm-oncall@example.org"
    assert "acme__interactions" in mail["Subject"]
    assert START.isoformat() in mail["Subject"]
    assert "X-Evil" not in mail
    text = "".join(
        p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
        for p in mail.walk()
        if p.get_content_maintype() == "text"
    )
    assert f"data interval: {START.isoformat()} .. {(START + timedelta(minutes=15)).isoformat()}" in text
    assert "(queued + 60 min)" in text
    assert re.findall(r"<[^<>]*>", text) == ["<pre>", "</pre>"]
    # The run's conf and note are free text: never part of the alert.
    everything = json.dumps(body) + text + str(mail["Subject"])
    assert SECRET not in everything
    assert "password" not in everything


def test_a_backfill_run_only_logs(
    channels: tuple[Receiver, Mailbox], caplog: pytest.LogCaptureFixture
) -> None:
    receiver, box = channels
    with caplog.at_level("WARNING", logger="acdflow.alerts"):
        result = _run(context(run_type="backfill", run_id="backfill__2026-11-10T18:00:00+00:00"))
    assert result.startswith("logged, not sent (backfill)")
    assert receiver.received() == []
    assert box.messages == []
    assert "not sent: a backfill run" in caplog.text


def test_without_channels_the_alert_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="acdflow.alerts"):
        result = asyncio.run(landing_deadline_missed(integration="acme", minutes=5, context=context()))
    assert result.startswith("sent: ")
    assert "acdflow data late" in caplog.text
    assert "acme__interactions" in caplog.text


def test_the_alert_gives_every_time_in_utc_as_text_or_datetime_come_in() -> None:
    ctx = context()
    as_text = {**ctx, "deadline": {"deadline_time": "2026-11-10T20:15:02+01:00"}}
    # The scheduler's JSON writes UTC with a Z.
    as_json = {**ctx, "dag_run": {**ctx["dag_run"], "data_interval_start": "2026-11-10T18:00:00Z"}}
    alerts = [late_alert_from_context("acme", 60, c) for c in (ctx, as_text, as_json)]
    assert alerts[0] == alerts[1] == alerts[2]
    assert alerts[0].deadline == "2026-11-10T19:15:02+00:00"
    assert alerts[0].interval_start == START.isoformat()
    empty = late_alert_from_context("acme", 60, {})
    assert (empty.dag_id, empty.interval_start, empty.deadline) == ("?", "?", "?")
