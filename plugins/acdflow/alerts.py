"""Failure alerts for every task of every generated DAG.

The message is built here once, from the task context, and names the integration, DAG, task,
data interval, try number, the error's first line (redacted by :mod:`acdflow.redaction`, which
fails closed) and a link to the task log.

The error text can quote what 8x8 sent (a report's failure reason, an error body), so it is
treated as untrusted: control and bidirectional-override characters are removed, it is cut to
:data:`ERROR_TEXT_LIMIT` characters (marked :data:`TRUNCATED`), and each channel escapes it for
its own markup: Slack's ``&``/``<``/``>`` escapes in the webhook payload (so ``<!channel>`` or
``<https://…|click>`` arrive as text, not as a mention or a link) and HTML escapes in the e-mail.
"""

from __future__ import annotations

import html
import logging
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from acdflow.config import IntegrationSpec
from acdflow.redaction import MAX_LENGTH as REDACTED_MAX_LENGTH
from acdflow.redaction import error_summary

log = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 500
TRUNCATED = "…(truncated)"
# Characters that reorder the text around them when displayed (Trojan-Source style spoofing).
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain_text(text: str, limit: int | None = None) -> str:
    """``text`` without control or bidi-override characters (a line break or tab becomes a space),
    cut to ``limit`` characters with :data:`TRUNCATED` appended when anything was cut."""
    kept: list[str] = []
    for char in text:
        if char in "\t\n\r\v\f\x85\u2028\u2029":
            kept.append(" ")
        elif unicodedata.category(char) != "Cc" and char not in _BIDI_CONTROLS:
            kept.append(char)
    clean = "".join(kept)
    if limit is not None and len(clean) > limit:
        return clean[:limit] + TRUNCATED
    return clean


def _error_text(error: object) -> str:
    summary = error_summary(error)
    clean = plain_text(summary, ERROR_TEXT_LIMIT)
    # error_summary already cut a longer message at its own limit; say so instead of hiding it.
    if len(summary) >= REDACTED_MAX_LENGTH and not clean.endswith(TRUNCATED):
        clean += TRUNCATED
    return clean


def slack_escape(text: str) -> str:
    """Slack's required escapes for message text: ``&``, ``<`` and ``>`` become entities, so no
    ``<!channel>``, ``<@user>`` or ``<url|label>`` sequence in ``text`` is interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class FailureAlert:
    integration: str
    dag_id: str
    task_id: str
    run_id: str
    interval_start: str
    interval_end: str
    try_number: int
    error: str
    log_url: str

    @property
    def subject(self) -> str:
        return f"[acdflow] {self.integration}: {self.dag_id}.{self.task_id} failed for {self.interval_start}"

    def text(self) -> str:
        return (
            f"acdflow task failed\n"
            f"integration: {self.integration}\n"
            f"dag: {self.dag_id}\n"
            f"task: {self.task_id}\n"
            f"run: {self.run_id}\n"
            f"data interval: {self.interval_start} .. {self.interval_end}\n"
            f"try: {self.try_number}\n"
            f"error: {self.error}\n"
            f"log: {self.log_url}\n"
        )

    def as_json(self) -> dict[str, Any]:
        """The webhook body; ``text`` and ``error`` are what chat tools render, so they are escaped."""
        return {
            "text": slack_escape(f"{self.subject}: {self.error} ({self.log_url})"),
            "integration": self.integration,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "data_interval_start": self.interval_start,
            "data_interval_end": self.interval_end,
            "try_number": self.try_number,
            "error": slack_escape(self.error),
            "log_url": self.log_url,
        }


def alert_from_context(integration: str, context: Mapping[str, Any]) -> FailureAlert:
    ti = context.get("ti") or context.get("task_instance")
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    # A manual run id is free text too: every field is made plain, not only the error.
    return FailureAlert(
        integration=plain_text(integration, ERROR_TEXT_LIMIT),
        dag_id=plain_text(str(getattr(ti, "dag_id", context.get("dag_id", "?"))), ERROR_TEXT_LIMIT),
        task_id=plain_text(str(getattr(ti, "task_id", "?")), ERROR_TEXT_LIMIT),
        run_id=plain_text(str(context.get("run_id", getattr(ti, "run_id", "?"))), ERROR_TEXT_LIMIT),
        interval_start=start.isoformat() if start is not None else "?",
        interval_end=end.isoformat() if end is not None else "?",
        try_number=int(getattr(ti, "try_number", 0) or 0),
        error=_error_text(context.get("exception")),
        log_url=plain_text(str(getattr(ti, "log_url", "") or "")),
    )


def log_failure_callback(integration: str) -> Callable[[Mapping[str, Any]], None]:
    def _log_failure(context: Mapping[str, Any]) -> None:
        log.error("%s", alert_from_context(integration, context).text())

    return _log_failure


def webhook_notifier(integration: str, http_conn_id: str) -> Any:
    """The http provider's ``HttpNotifier`` posting :meth:`FailureAlert.as_json` (Slack, Teams and
    PagerDuty-style endpoints take a JSON body with ``text``)."""
    from airflow.providers.http.notifications.http import HttpNotifier

    class WebhookAlert(HttpNotifier):
        # The body is built from the context in notify(), not rendered from templates.
        template_fields = ()  # type: ignore[assignment]

        def notify(self, context: Any) -> None:
            self.json = alert_from_context(integration, context).as_json()
            self.headers = {"Content-Type": "application/json"}
            super().notify(context)

    return WebhookAlert(http_conn_id=http_conn_id, method="POST")


def email_notifier(integration: str, to: tuple[str, ...], smtp_conn_id: str) -> Any:
    """The smtp provider's ``SmtpNotifier`` sending the alert; the provider sends HTML only, so the
    text goes HTML-escaped inside ``<pre>``."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    class EmailAlert(SmtpNotifier):
        template_fields = ()  # type: ignore[assignment]

        def notify(self, context: Any) -> None:
            alert = alert_from_context(integration, context)
            self.subject = alert.subject
            self.html_content = "<pre>" + html.escape(alert.text()) + "</pre>"
            super().notify(context)

    return EmailAlert(to=list(to), smtp_conn_id=smtp_conn_id, from_email=f"acdflow <acdflow@{_host()}>")


def _host() -> str:
    import socket

    return socket.gethostname() or "localhost"


def failure_callbacks(spec: IntegrationSpec) -> list[Callable[[Mapping[str, Any]], None]]:
    """Callbacks for ``on_failure_callback``: always a log line; the integration's notifiers when
    configured. Only a task's final failure calls them, so a failure a retry absorbed sends nothing."""
    callbacks: list[Callable[[Mapping[str, Any]], None]] = [log_failure_callback(spec.name)]
    if spec.alerts.webhook_conn_id:
        callbacks.append(webhook_notifier(spec.name, spec.alerts.webhook_conn_id))
    if spec.alerts.email_to:
        callbacks.append(email_notifier(spec.name, spec.alerts.email_to, spec.alerts.smtp_conn_id))
    return callbacks
