"""The trigger a ``poll_live_status`` task defers to: its run's polling window, in the triggerer.

:class:`LiveStatusTrigger` runs :func:`acdflow.pipeline.live_status.poll_window` and fires exactly
one event when it ends: ``{"status": "done", "summary": ...}`` with the run's summary, or
``{"status": "failed", "error": ...}`` with what stopped it. The task resumes on that event
(:func:`acdflow.pipeline.live_status.finish_live_status`, through :func:`summary_from_event`).

Its arguments are stored in Airflow's metadata database and re-create it after a triggerer
restart, so they hold names and the window only: the integration, the two connection ids, the
schema, the run id and the window's bounds. The trigger reads both connections itself, with the
asynchronous connection lookup (Airflow masks the connection's secret as it is read). The 8x8
tokens are kept out of logs and events by construction rather than registered with the masker of
a long-lived process (see :func:`acdflow.pipeline.live_status.poll_window` for why).

An event's error keeps the class of an 8x8 error (:mod:`acdflow.eightbyeight.errors`): the
task's retry policy then treats a wrong credential, region or tenant as it does in any other task
(not retried). Any other error comes back as :class:`LivePollError` with its type and first line,
redacted (:func:`acdflow.redaction.error_summary`), and is retried.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from acdflow.eightbyeight import errors
from acdflow.pipeline import live_status
from acdflow.pipeline.live_timing import PollWindow
from acdflow.redaction import error_summary

__all__ = ["DONE", "FAILED", "LivePollError", "LiveStatusTrigger", "failure_payload", "summary_from_event"]

log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"


class LivePollError(RuntimeError):
    """The live poll in the triggerer stopped on an error that is not an 8x8 error (the warehouse,
    a connection that could not be read), or ended without an event."""


class LiveStatusTrigger(BaseTrigger):
    """Polls one run's live-status window in the triggerer (see the module docstring)."""

    def __init__(
        self,
        *,
        integration: str,
        eightbyeight_conn_id: str,
        warehouse_conn_id: str,
        schema: str,
        run_id: str,
        window_start: str,
        window_deadline: str,
        poll_seconds: float,
        owner_check_seconds: float = live_status.OWNER_CHECK_SECONDS,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's BaseTrigger is untyped
        self.integration = integration
        self.eightbyeight_conn_id = eightbyeight_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.schema = schema
        self.run_id = run_id
        # ISO 8601 text: the arguments are stored as JSON.
        self.window_start = window_start
        self.window_deadline = window_deadline
        self.poll_seconds = float(poll_seconds)
        self.owner_check_seconds = float(owner_check_seconds)

    @property
    def window(self) -> PollWindow:
        return PollWindow(
            datetime.fromisoformat(self.window_start), datetime.fromisoformat(self.window_deadline)
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "integration": self.integration,
                "eightbyeight_conn_id": self.eightbyeight_conn_id,
                "warehouse_conn_id": self.warehouse_conn_id,
                "schema": self.schema,
                "run_id": self.run_id,
                "window_start": self.window_start,
                "window_deadline": self.window_deadline,
                "poll_seconds": self.poll_seconds,
                "owner_check_seconds": self.owner_check_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            summary = await live_status.poll_window(
                integration=self.integration,
                eightbyeight_conn_id=self.eightbyeight_conn_id,
                warehouse_conn_id=self.warehouse_conn_id,
                schema=self.schema,
                run_id=self.run_id,
                window=self.window,
                poll_seconds=self.poll_seconds,
                owner_check_seconds=self.owner_check_seconds,
            )
        except Exception as exc:
            # Cancellation (a triggerer restart, a timeout) is not an Exception: it is not reported,
            # so the trigger re-created elsewhere carries on.
            log.error(
                "%s: live poll of run %s stopped: %s", self.integration, self.run_id, error_summary(exc)
            )
            yield _event(failure_payload(exc))
            return
        yield _event({"status": DONE, "summary": summary})


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]  # Airflow's TriggerEvent is untyped


def failure_payload(error: BaseException) -> dict[str, Any]:
    """The event of a trigger stopped by ``error``: JSON, and without secrets."""
    described: dict[str, Any] = {"type": type(error).__name__, "message": error_summary(error)}
    if isinstance(error, errors.EightByEightError) and getattr(errors, type(error).__name__, None) is type(
        error
    ):
        # Rebuilt with its class on resumption; an 8x8 error's text never holds a secret (errors.py).
        described["state"] = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(error).items()}
    return {"status": FAILED, "error": described}


def summary_from_event(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's summary from a trigger's event, or the error that stopped the trigger raised."""
    if not isinstance(event, Mapping):
        raise LivePollError("the live-status trigger ended without an event; clear the task to poll again")
    if event.get("status") == DONE and isinstance(event.get("summary"), Mapping):
        return dict(event["summary"])
    described = event.get("error")
    if event.get("status") != FAILED or not isinstance(described, Mapping):
        raise LivePollError(
            f"the live-status trigger sent an event this version cannot read: {sorted(event)}"
        )
    raise _error(described)


def _error(described: Mapping[str, Any]) -> Exception:
    name = described.get("type")
    cls = getattr(errors, name, None) if isinstance(name, str) else None
    state = described.get("state")
    if isinstance(cls, type) and issubclass(cls, errors.EightByEightError) and isinstance(state, Mapping):
        error = cls.__new__(cls)
        error.__dict__.update({k: tuple(v) if isinstance(v, list) else v for k, v in state.items()})
        Exception.__init__(error, error._render())
        return error
    return LivePollError(f"the live poll in the triggerer failed: {described.get('message')}")
