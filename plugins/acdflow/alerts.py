"""Alerts: the final failure of any task of a generated DAG, and data that has not landed in time.

A failure message is built here once, from the task context, and names the integration, DAG, task,
data interval, try number, the error's first line (redacted by :mod:`acdflow.redaction`, which
fails closed) and a link to the task log.

A late-data message comes from the landing deadline of the interactions and agent-status DAGs
(:func:`landing_deadline`, an Airflow Deadline Alert): when a run has not succeeded
``landing_deadline_minutes`` after it was queued, the scheduler hands
:func:`landing_deadline_missed` to the triggerer, which sends it through the same channels. It
names the integration, DAG, run, data interval, when the run was queued, the deadline and the
run's state, nothing else.

The error text can quote what 8x8 sent (a report's failure reason, an error body), so it is
treated as untrusted: control and bidirectional-override characters are removed, it is cut to
:data:`ERROR_TEXT_LIMIT` characters (marked :data:`TRUNCATED`), and each channel escapes it for
its own markup: Slack's ``&``/``<``/``>`` escapes in the webhook payload (so ``<!channel>`` or
``<https://…|click>`` arrive as text, not as a mention or a link) and HTML escapes in the e-mail.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

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


class Alert(Protocol):
    """What every channel sends: a subject, a plain-text body and a JSON body for webhooks."""

    @property
    def subject(self) -> str: ...

    def text(self) -> str: ...

    def as_json(self) -> dict[str, Any]: ...


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
            "kind": "task_failed",
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


AlertRenderer = Callable[[Mapping[str, Any]], Alert]


def webhook_notifier(integration: str, http_conn_id: str, render: AlertRenderer | None = None) -> Any:
    """The http provider's ``HttpNotifier`` posting the alert's :meth:`~Alert.as_json` (Slack, Teams
    and PagerDuty-style endpoints take a JSON body with ``text``). ``render`` builds the alert from
    the context it is called with (default: a task failure's)."""
    from airflow.providers.http.notifications.http import HttpNotifier

    build = render or functools.partial(alert_from_context, integration)

    class WebhookAlert(HttpNotifier):
        # The body is built from the context in notify(), not rendered from templates.
        template_fields = ()  # type: ignore[assignment]

        def notify(self, context: Any) -> None:
            self.json = build(context).as_json()
            self.headers = {"Content-Type": "application/json"}
            super().notify(context)

    return WebhookAlert(http_conn_id=http_conn_id, method="POST")


def email_notifier(
    integration: str, to: tuple[str, ...], smtp_conn_id: str, render: AlertRenderer | None = None
) -> Any:
    """The smtp provider's ``SmtpNotifier`` sending the alert; the provider sends HTML only, so the
    text goes HTML-escaped inside ``<pre>``."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    build = render or functools.partial(alert_from_context, integration)

    class EmailAlert(SmtpNotifier):
        template_fields = ()  # type: ignore[assignment]

        def notify(self, context: Any) -> None:
            alert = build(context)
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


# -- late data: the landing deadline -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LateDataAlert:
    integration: str
    dag_id: str
    run_id: str
    run_type: str
    state: str
    interval_start: str
    interval_end: str
    queued_at: str
    deadline: str
    minutes: int
    run_url: str

    @property
    def subject(self) -> str:
        return (
            f"[acdflow] {self.integration}: {self.dag_id} data for {self.interval_start} "
            f"not landed {self.minutes} min after its run was queued"
        )

    def text(self) -> str:
        return (
            f"acdflow data late\n"
            f"integration: {self.integration}\n"
            f"dag: {self.dag_id}\n"
            f"run: {self.run_id}\n"
            f"data interval: {self.interval_start} .. {self.interval_end}\n"
            f"queued at: {self.queued_at}\n"
            f"deadline: {self.deadline} (queued + {self.minutes} min)\n"
            f"run state: {self.state}\n"
            f"link: {self.run_url}\n"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "text": slack_escape(f"{self.subject} (run state {self.state}; {self.run_url})"),
            "kind": "landing_deadline_missed",
            "integration": self.integration,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "run_type": self.run_type,
            "state": self.state,
            "data_interval_start": self.interval_start,
            "data_interval_end": self.interval_end,
            "queued_at": self.queued_at,
            "deadline": self.deadline,
            "landing_deadline_minutes": self.minutes,
            "run_url": self.run_url,
        }


def _when(value: object) -> str:
    """ISO 8601 in UTC, as in failure alerts and asset events: the scheduler hands some of these
    over as datetimes, others as JSON text (``…Z``)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return plain_text(value, 100)
        value = parsed
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    return plain_text(str(value), 100) if value else "?"


def _run_url(dag_id: str, run_id: str) -> str:
    from airflow.sdk.configuration import conf

    base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
    quote = functools.partial(urllib.parse.quote, safe="")
    return plain_text(f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id)}")


def late_alert_from_context(integration: str, minutes: int, context: Mapping[str, Any]) -> LateDataAlert:
    """The alert of a missed landing deadline, from the context Airflow passes to deadline callbacks:
    ``dag_run`` (the run as the REST API shows it) and ``deadline`` (``deadline_time``). Only the
    fields below are read; the run's ``conf`` and ``note`` are free text and never sent."""
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = str(run.get("dag_id", "?"))
    run_id = str(run.get("dag_run_id", "?"))
    return LateDataAlert(
        integration=plain_text(integration, ERROR_TEXT_LIMIT),
        dag_id=plain_text(dag_id, ERROR_TEXT_LIMIT),
        run_id=plain_text(run_id, ERROR_TEXT_LIMIT),
        run_type=plain_text(str(run.get("run_type", "?")), 40),
        state=plain_text(str(run.get("state", "?")), 40),
        interval_start=_when(run.get("data_interval_start")),
        interval_end=_when(run.get("data_interval_end")),
        queued_at=_when(run.get("queued_at")),
        deadline=_when(deadline.get("deadline_time")),
        minutes=int(minutes),
        run_url=_run_url(dag_id, run_id),
    )


def _send(
    alert: LateDataAlert,
    integration: str,
    webhook_conn_id: str | None,
    email_to: tuple[str, ...],
    smtp_conn_id: str,
) -> None:
    def render(_context: Mapping[str, Any]) -> Alert:
        return alert

    notifiers = []
    if webhook_conn_id:
        notifiers.append(webhook_notifier(integration, webhook_conn_id, render))
    if email_to:
        notifiers.append(email_notifier(integration, email_to, smtp_conn_id, render))
    errors: list[Exception] = []
    for notifier in notifiers:
        # One channel failing must not keep the alert from the others.
        try:
            notifier.notify({})
        except Exception as exc:
            log.exception("sending the late-data alert through %s failed", type(notifier).__name__)
            errors.append(exc)
    if errors:
        raise errors[0]


async def landing_deadline_missed(
    *,
    integration: str,
    minutes: int,
    webhook_conn_id: str | None = None,
    email_to: list[str] | None = None,
    smtp_conn_id: str = "smtp_default",
    context: Mapping[str, Any] | None = None,
) -> str:
    """The Deadline Alert callback (an ``AsyncCallback``: it runs in the triggerer): log the late-data
    alert and send it through the integration's channels.

    Runs of a backfill are only logged: ``airflow backfill create`` queues every run of its range at
    once, so a long backfill would otherwise send one alert per interval still waiting its turn, for
    data an operator is deliberately re-importing. Their failures still alert."""
    alert = late_alert_from_context(integration, minutes, context or {})
    if alert.run_type == "backfill":
        log.warning("%s", alert.text() + "not sent: a backfill run\n")
        return f"logged, not sent (backfill): {alert.subject}"
    log.error("%s", alert.text())
    # The notifiers are synchronous (as for failures): off the triggerer's event loop, in a thread.
    await asyncio.to_thread(_send, alert, integration, webhook_conn_id, tuple(email_to or ()), smtp_conn_id)
    return f"sent: {alert.subject}"


def landing_deadline(spec: IntegrationSpec) -> Any:
    """The ``deadline=`` of an interactions or agent-status DAG: a Deadline Alert
    ``landing_deadline_minutes`` after each run was queued, or None when the integration sets 0.

    The clock starts when the run is queued, not at the interval's end: a run on schedule is queued
    as its interval closes, so the two agree, while a run created later (catch-up from
    ``start_date``, a scheduler that was down, a manual run) gets the full time from when it could
    start instead of alerting the moment it exists."""
    if not spec.landing_deadline_minutes:
        return None
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    kwargs: dict[str, Any] = {
        "integration": spec.name,
        "minutes": spec.landing_deadline_minutes,
        "webhook_conn_id": spec.alerts.webhook_conn_id,
        "email_to": list(spec.alerts.email_to),
        "smtp_conn_id": spec.alerts.smtp_conn_id,
    }
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=spec.landing_deadline_minutes),
        callback=AsyncCallback(landing_deadline_missed, kwargs=kwargs),
        name="acdflow landing deadline",
    )


@functools.cache
def dag_class() -> type[Any]:
    """``airflow.sdk.DAG`` whose ``test()`` runs without the landing deadline.

    Airflow 3.3's ``dag.test()`` (and ``airflow dags test``) fails after a run *succeeds* when the
    DAG has a Deadline Alert (apache/airflow#73428: the in-memory scheduler DAG holds encoded alerts
    where the pruning expects their ids). A test run never has a deadline anyway: it is created
    running, not queued, so Airflow skips the queued-at deadline for it. Scheduled, manual and
    backfill runs are untouched."""
    from airflow.sdk import DAG

    class AcdflowDAG(DAG):
        def test(self, *args: Any, **kwargs: Any) -> Any:
            deadline, self.deadline = self.deadline, None
            try:
                return super().test(*args, **kwargs)
            finally:
                self.deadline = deadline

    return AcdflowDAG
