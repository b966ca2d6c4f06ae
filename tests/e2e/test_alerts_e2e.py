"""Failure alerts for real, over loopback: a webhook receiver gets the JSON, a local SMTP server
(aiosmtpd) gets the mail, and a failure a retry absorbs sends nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.alerting import FIRST, Mailbox, Receiver, alerting_pipeline, mailbox, receiver
from tests.e2e.harness import CLIENT_SECRET

__all__ = ["mailbox", "receiver"]  # fixtures, used by name

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_a_failed_task_alerts_by_webhook_and_email_without_secrets(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, smtp_port = mailbox
    pipe = alerting_pipeline(request, tmp_path, warehouse_uri, fresh_schema, receiver, smtp_port)
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
    pipe = alerting_pipeline(
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
