"""Alert text is plain: what 8x8 wrote into an error cannot mention, link or script anything in the
webhook (Slack) payload or the e-mail, is cut to a bounded length, and secrets stay redacted.

The notifiers deliver for real, to a webhook receiver and an SMTP server on loopback."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from acdflow.alerts import (
    ERROR_TEXT_LIMIT,
    TRUNCATED,
    alert_from_context,
    email_notifier,
    plain_text,
    slack_escape,
    webhook_notifier,
)
from acdflow_dev.local.webhook import WebhookReceiver as Receiver
from tests.e2e.alerting import Mailbox, mailbox, receiver

__all__ = ["mailbox", "receiver"]  # fixtures, used by name

START = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
HOSTILE = (
    "8x8 said: <!channel> <!here> <@U024BE7LH> <https://evil.example|click here> "
    "<script>alert(1)</script> &amp; a\x00b\x1b[31mred\x07\u202eevil\u202c"
)


class ReportFailed(RuntimeError):
    """Stands for an error whose message quotes 8x8's failure reason."""


def context(error: BaseException, *, run_id: str = "manual__2026-11-10") -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="acme__interactions",
        task_id="wait_for_report",
        run_id=run_id,
        try_number=3,
        log_url="http://airflow.example/dags/acme__interactions/runs/x/tasks/wait_for_report?try=3&map=-1",
    )
    return {
        "ti": ti,
        "run_id": run_id,
        "data_interval_start": START,
        "data_interval_end": START + timedelta(minutes=15),
        "exception": error,
    }


@pytest.fixture
def secret() -> str:
    from airflow.sdk.log import mask_secret

    value = f"tok-{uuid.uuid4().hex}"
    mask_secret(value)
    return value


@pytest.fixture
def channels(
    receiver: Receiver, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> tuple[Receiver, Mailbox]:
    box, port = mailbox
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_WEBHOOK", json.dumps(receiver.airflow_conn()))
    smtp = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "acdflow@example.org"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_SMTP", json.dumps(smtp))
    return receiver, box


def deliver(channels: tuple[Receiver, Mailbox], ctx: dict[str, Any]) -> tuple[dict[str, Any], Any, str]:
    """Send one alert through both notifiers; the webhook body, the mail and its decoded text."""
    receiver, box = channels
    webhook_notifier("acme", "alert_webhook").notify(ctx)
    email_notifier("acme", ("wfm-oncall@example.org",), "alert_smtp").notify(ctx)
    (body,) = receiver.received()
    (mail,) = box.messages
    parts = [p for p in mail.walk() if p.get_content_maintype() == "text"]
    assert all(p.get_content_type() == "text/html" for p in parts)
    text = "".join(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8") for p in parts)
    return body, mail, text


def _slack_specials(text: str) -> list[str]:
    """What Slack would interpret: any ``<…>`` sequence (mentions, links) in the raw text."""
    return re.findall(r"<[^<>]*>", text)


def test_plain_text_strips_control_and_bidi_characters() -> None:
    # NEL (U+0085) is a line break, so it becomes a space like CR, LF and tab.
    assert plain_text("a\x00b\x1b[31mc\x07d\u202ee\u2066f\x7fg\x85h") == "ab[31mcdefg h"
    assert plain_text("line 1\r\nline 2\tend") == "line 1  line 2 end"
    assert plain_text("x" * 501, 500) == "x" * 500 + TRUNCATED
    assert plain_text("x" * 500, 500) == "x" * 500
    assert slack_escape("<!channel> & <a|b>") == "&lt;!channel&gt; &amp; &lt;a|b&gt;"


def test_hostile_error_text_arrives_inert_in_the_webhook_and_the_mail(
    channels: tuple[Receiver, Mailbox], secret: str
) -> None:
    error = ReportFailed(f"{HOSTILE} token={secret} end\r\nSubject: injected")
    body, mail, text = deliver(channels, context(error, run_id="manual__<!everyone>\nX-Evil: 1"))

    # Webhook: nothing Slack would read as a mention, a link or a tag; the words are still there.
    for field in ("text", "error"):
        assert _slack_specials(body[field]) == [], body[field]
        assert "&lt;!channel&gt;" in body[field]
        assert "&lt;https://evil.example|click here&gt;" in body[field]
        assert "&lt;script&gt;" in body[field]
        assert "&amp;amp;" in body[field]  # the & of 8x8's "&amp;" is escaped too
    assert body["error"].startswith("ReportFailed: 8x8 said: ")
    # The free-text run id is plain (one line) in its own field, which chat tools do not render.
    assert body["run_id"] == "manual__<!everyone> X-Evil: 1"
    everything = json.dumps(body) + text + str(mail["Subject"])
    for char in ("\x00", "\x1b", "\x07", "\u202e", "\u202c"):
        assert char not in everything
    assert "\\u0000" not in json.dumps(body)
    assert secret not in everything

    # Mail: HTML-escaped inside <pre>, so the only tags are the two <pre> of the template.
    assert re.findall(r"<[^<>]*>", text) == ["<pre>", "</pre>"]
    assert html.escape("<https://evil.example|click here>") in text
    assert html.escape("<script>alert(1)</script>") in text
    # Only the error's first line is sent: what follows a line break cannot pose as a header.
    assert "Subject: injected" not in everything
    assert "token=*** end" in body["error"]
    assert "X-Evil" not in mail
    assert "\n" not in str(mail["Subject"]).replace("\n ", "")


def test_a_huge_error_body_is_truncated_and_marked(channels: tuple[Receiver, Mailbox]) -> None:
    body_100k = "<!channel> " + "A" * 100_000 + " END-OF-BODY"
    body, _mail, text = deliver(channels, context(ReportFailed(body_100k)))

    alert = alert_from_context("acme", context(ReportFailed(body_100k)))
    assert alert.error.endswith(TRUNCATED)
    assert len(alert.error) <= ERROR_TEXT_LIMIT + len(TRUNCATED)
    assert body["error"].endswith(TRUNCATED)
    assert "END-OF-BODY" not in json.dumps(body) + text
    assert len(json.dumps(body)) < 5_000
    assert len(text) < 5_000
    assert html.escape(TRUNCATED) in text or TRUNCATED in text
    assert _slack_specials(body["text"]) == []


def test_a_short_error_is_delivered_whole_without_a_mark(channels: tuple[Receiver, Mailbox]) -> None:
    body, _mail, text = deliver(channels, context(ReportFailed("report 42 failed: quota exceeded")))
    assert body["error"] == "ReportFailed: report 42 failed: quota exceeded"
    assert TRUNCATED not in json.dumps(body, ensure_ascii=False) + text
    # The log link keeps working: its & is escaped for Slack, which shows it as &.
    assert body["text"].endswith("wait_for_report?try=3&amp;map=-1)")
    assert body["log_url"].endswith("?try=3&map=-1")
