"""Failure alerts for every task of every generated DAG.

The message is built here once, from the task context, and names the integration, DAG, task,
data interval, try number, the error's first line (redacted by :mod:`acdflow.redaction`, which
fails closed) and a link to the task log.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from acdflow.config import IntegrationSpec
from acdflow.redaction import error_summary

log = logging.getLogger(__name__)


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
        return {
            "text": f"{self.subject}: {self.error} ({self.log_url})",
            "integration": self.integration,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "data_interval_start": self.interval_start,
            "data_interval_end": self.interval_end,
            "try_number": self.try_number,
            "error": self.error,
            "log_url": self.log_url,
        }


def alert_from_context(integration: str, context: Mapping[str, Any]) -> FailureAlert:
    ti = context.get("ti") or context.get("task_instance")
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    return FailureAlert(
        integration=integration,
        dag_id=str(getattr(ti, "dag_id", context.get("dag_id", "?"))),
        task_id=str(getattr(ti, "task_id", "?")),
        run_id=str(context.get("run_id", getattr(ti, "run_id", "?"))),
        interval_start=start.isoformat() if start is not None else "?",
        interval_end=end.isoformat() if end is not None else "?",
        try_number=int(getattr(ti, "try_number", 0) or 0),
        error=error_summary(context.get("exception")),
        log_url=str(getattr(ti, "log_url", "") or ""),
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
    """The smtp provider's ``SmtpNotifier`` sending the alert as a plain-text e-mail."""
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
