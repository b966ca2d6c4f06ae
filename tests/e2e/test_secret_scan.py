"""No secret leaves its connection: every DAG runs with a recognisable client secret (and a failing
run alerts), then task logs, XComs, rendered templates, every ``acd.*`` table and every alert
payload are searched for the secret, the Basic credentials sent to the token endpoint, and every
bearer token the simulator issued."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.e2e.alerting import FIRST, Mailbox, Receiver, alerting_pipeline, mailbox, receiver
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET, FIFTEEN

__all__ = ["mailbox", "receiver"]  # fixtures, used by name


def _mail_text(box: Mailbox) -> str:
    parts = []
    for mail in box.messages:
        parts.append(str(mail["Subject"]))
        for part in mail.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_payload(decode=True).decode())
    return "\n".join(parts)


def _warehouse_dump(uri: str, schema: str) -> dict[str, str]:
    dump = {}
    with psycopg.connect(uri, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(
                sql.SQL("SELECT row_to_json(t)::text FROM {}.{} t").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchall()
            dump[table] = "\n".join(r[0] for r in rows)
    return dump


def test_secret_and_tokens_appear_nowhere(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
    airflow_db: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, smtp_port = mailbox
    pipe = alerting_pipeline(
        request, tmp_path, warehouse_uri, fresh_schema, receiver, smtp_port, retry_delay_seconds=1
    )
    # Tokens revoked mid-run make the client fetch new ones, so several tokens are searched for.
    pipe.sim.faults.fail_next(["revoke"], path_contains="detailed-reports")
    pipe.sim.faults.fail_next(["revoke"], path_contains="/agents")
    caplog.set_level("INFO")
    # A failure after authentication succeeded: the alert's error text is produced with a live token.
    # One 403 per try: the default retries (3) give four tries, then the task fails for good.
    pipe.sim.faults.fail_next([403] * 4, path_contains="detailed-reports")
    pipe.run(FIRST + FIFTEEN, expect="failed")
    deadline = time.monotonic() + 30
    while not (receiver.bodies and box.messages) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert receiver.bodies, "the failing run sent no webhook alert"
    assert box.messages, "the failing run sent no mail alert"
    pipe.run(FIRST)
    pipe.run(FIRST, kind="agent_status")
    pipe.run(FIRST, kind="live_status")

    tokens = pipe.sim.issued_tokens()
    assert len(tokens) >= 2
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    needles = {"client secret": CLIENT_SECRET, "basic credentials": basic}
    needles.update({f"token {i}": token for i, token in enumerate(tokens)})

    out, err = capfd.readouterr()
    log_files = {
        str(p): p.read_text(errors="replace") for p in (airflow_db / "logs").rglob("*") if p.is_file()
    }
    with sqlite3.connect(airflow_db / "airflow.db") as meta:
        xcoms = [str(v) for (v,) in meta.execute("SELECT value FROM xcom")]
        rendered = [
            str(v) for (v,) in meta.execute("SELECT rendered_fields FROM rendered_task_instance_fields")
        ]
        conns_in_meta = [str(v) for (v,) in meta.execute("SELECT extra FROM connection")]
    # The scan is only meaningful if each place was actually written to.
    assert xcoms
    # Airflow stores rendered templates only for templated fields; acdflow's tasks declare none, so
    # nothing can be rendered into one. If a task gains some, its rendered values must be scanned.
    templated = {
        (kind, task.task_id): task.template_fields
        for kind in ("interactions", "agent_status", "live_status")
        for task in pipe.dag(kind).tasks
        if task.template_fields
    }
    assert rendered or not templated, templated
    assert caplog.records
    haystacks = {
        "task output": out + err,
        "log records": "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
        "xcom": "\n".join(xcoms),
        "rendered templates": "\n".join(rendered),
        "metadata connections": "\n".join(conns_in_meta),
        "webhook payloads": json.dumps(receiver.bodies),
        "alert mail": _mail_text(box),
        **{f"log file {k}": v for k, v in log_files.items()},
        **{f"table {k}": v for k, v in _warehouse_dump(pipe.warehouse_uri, pipe.schema).items()},
    }
    assert "table load_runs" in haystacks
    assert "table interactions" in haystacks
    hits = [
        (where, what)
        for where, text in haystacks.items()
        for what, needle in needles.items()
        if needle in text
    ]
    assert hits == []
    # The logs did record the runs (the search looked at real output): the integration is named.
    assert pipe.name in haystacks["log records"] + haystacks["task output"]
