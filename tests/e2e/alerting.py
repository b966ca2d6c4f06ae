"""Local alert endpoints for tests: a webhook receiver and an SMTP mailbox on loopback, and an
integration whose failure alerts go to both."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from acdflow_dev.local.webhook import WebhookReceiver as Receiver
from tests.e2e.harness import Pipeline, start_pipeline, utc

FIRST = utc("2026-11-10T18:00:00+00:00")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    # aiosmtpd checks readiness by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def alerting_pipeline(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    schema: str,
    receiver: Receiver,
    smtp_port: int,
    **options: Any,
) -> Pipeline:
    alerts = {
        "webhook_conn_id": "alert_webhook",
        "email_to": ["wfm-oncall@example.org"],
        "smtp_conn_id": "alert_smtp",
    }
    pipe: Pipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        schema,
        name="alerted",
        timezone="America/Los_Angeles",
        region="us",
        clock=FIRST + timedelta(hours=2),
        alerts=alerts,
        **options,
    )
    base_env = pipe.env

    def env() -> dict[str, str]:
        return {
            **base_env(),
            "AIRFLOW_CONN_ALERT_WEBHOOK": json.dumps(receiver.airflow_conn()),
            "AIRFLOW_CONN_ALERT_SMTP": json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "acdflow@example.org"},
                }
            ),
        }

    pipe.env = env  # type: ignore[method-assign]
    return pipe
