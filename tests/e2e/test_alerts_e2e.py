"""Failure alerts for real, over loopback: a webhook receiver gets the JSON, a local SMTP server
(aiosmtpd) gets the mail, and a failure a retry absorbs sends nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import CLIENT_SECRET, Pipeline, start_pipeline, utc

pytestmark = pytest.mark.usefixtures("airflow_db")
FIRST = utc("2026-11-10T18:00:00+00:00")


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


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


def _alerting_pipeline(
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
            "AIRFLOW_CONN_ALERT_WEBHOOK": json.dumps(
                {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http"}
            ),
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


def test_a_failed_task_alerts_by_webhook_and_email_without_secrets(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, smtp_port = mailbox
    pipe = _alerting_pipeline(request, tmp_path, warehouse_uri, fresh_schema, receiver, smtp_port)
    good_env = pipe.env

    def wrong_secret() -> dict[str, str]:
        env = good_env()
        key = f"AIRFLOW_CONN_{pipe.conn_id.upper()}"
        env[key] = env[key].replace(CLIENT_SECRET, "wrong-secret-55123")
        return env

    pipe.env = wrong_secret  # type: ignore[method-assign]
    dag_run = pipe.run(FIRST, expect="failed")
    (body,) = receiver.bodies
    assert body["integration"] == "alerted"
    assert body["dag_id"] == "alerted__interactions"
    assert body["task_id"] == "authenticate"
    assert body["run_id"] == dag_run.run_id
    assert body["data_interval_start"] == FIRST.isoformat()
    assert body["data_interval_end"] == (FIRST + timedelta(minutes=15)).isoformat()
    assert body["try_number"] == 1
    assert body["error"].startswith("AuthenticationError")
    assert "alerted__interactions" in body["log_url"]
    assert "authenticate" in body["log_url"]
    assert "authenticate" in body["text"]
    (mail,) = box.messages
    assert mail["To"] == "wfm-oncall@example.org"
    assert "alerted" in mail["Subject"]
    assert "authenticate" in mail["Subject"]
    text = (
        mail.get_payload(decode=True).decode()
        if not mail.is_multipart()
        else "".join(
            part.get_payload(decode=True).decode()
            for part in mail.walk()
            if part.get_content_maintype() == "text"
        )
    )
    assert "AuthenticationError" in text
    assert FIRST.isoformat() in text
    everything = json.dumps(receiver.bodies) + text
    for secret in ("wrong-secret-55123", CLIENT_SECRET):
        assert secret not in everything


def test_a_failure_that_a_retry_absorbs_sends_nothing(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, smtp_port = mailbox
    pipe = _alerting_pipeline(
        request, tmp_path, warehouse_uri, fresh_schema, receiver, smtp_port, retry_delay_seconds=1
    )
    # The token endpoint answers 503 more often than the client retries within one task try, so
    # the first try of authenticate fails; Airflow's retry then succeeds.
    pipe.sim.faults.fail_next([503] * 5, path_contains="/oauth/v2/token")
    pipe.run(FIRST)
    tries = pipe.query(
        "SELECT try_number, status FROM {schema}.load_runs WHERE step = 'authenticate' ORDER BY try_number"
    )
    assert [(t["try_number"], t["status"]) for t in tries] == [(1, "failed"), (2, "success")]
    assert receiver.bodies == []
    assert box.messages == []
