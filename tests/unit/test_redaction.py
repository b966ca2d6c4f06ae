"""Error text leaves a task redacted through Airflow's public API, or not at all (fail closed)."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acdflow import redaction
from acdflow.alerts import alert_from_context
from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.pipeline.steps import run_step


@pytest.fixture
def secret() -> str:
    from airflow.sdk.log import mask_secret

    value = f"tok-{uuid.uuid4().hex}"
    mask_secret(value)
    return value


def test_a_registered_secret_is_masked(secret: str) -> None:
    text = redaction.error_summary(RuntimeError(f"8x8 answered 401 for Bearer {secret}\nsecond line"))
    assert secret not in text
    assert text.startswith("RuntimeError: 8x8 answered 401 for Bearer ")
    assert "second line" not in text


def test_when_the_masker_fails_the_text_is_withheld(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_text: str) -> str:
        raise RuntimeError("masker broke")

    monkeypatch.setattr(redaction, "_redact", broken)
    text = redaction.error_summary(ValueError(f"bad token {secret}"))
    assert text == f"ValueError: {redaction.WITHHELD}"


def test_when_the_masker_cannot_be_imported_the_text_is_withheld(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.common.compat.sdk", None)
    text = redaction.error_summary(ValueError(f"bad token {secret}"))
    assert secret not in text
    assert redaction.WITHHELD in text


def _context(exception: BaseException | None = None) -> dict[str, Any]:
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    ti = SimpleNamespace(
        dag_id="acme__interactions",
        task_id="extract",
        run_id="manual__1",
        try_number=2,
        log_url="http://airflow/log",
        xcom_pull=lambda task_ids: None,
    )
    return {
        "ti": ti,
        "run_id": "manual__1",
        "data_interval_start": start,
        "data_interval_end": start + timedelta(minutes=15),
        "exception": exception,
    }


def test_alerts_fail_closed(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alert = alert_from_context("acme", _context(RuntimeError(f"leaked {secret}")))
    assert secret not in alert.error
    assert alert.error.startswith("RuntimeError: leaked ")
    monkeypatch.setattr(redaction, "_redact", lambda _text: 1 / 0)
    alert = alert_from_context("acme", _context(RuntimeError(f"leaked {secret}")))
    assert secret not in alert.text()
    assert alert.error == f"RuntimeError: {redaction.WITHHELD}"


@pytest.mark.parametrize("masker_works", [True, False])
def test_load_runs_error_is_redacted_or_withheld(
    secret: str, masker_works: bool, warehouse_uri: str, fresh_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not masker_works:
        monkeypatch.setattr(redaction, "_redact", lambda _text: 1 / 0)
    monkeypatch.setenv("AIRFLOW_CONN_WFM_REDACTION", warehouse_uri)
    spec = IntegrationSpec(
        name="acme", conn_id="eightbyeight_acme", start_date=datetime(2026, 11, 1, tzinfo=UTC)
    )
    warehouse = WarehouseSpec(conn_id="wfm_redaction", schema=fresh_schema)

    def failing(_step: Any) -> dict[str, Any]:
        raise RuntimeError(f"token {secret} refused")

    with pytest.raises(RuntimeError):
        run_step(spec, warehouse, _context(), failing)
    with psycopg.connect(warehouse_uri) as conn:
        rows = conn.execute(
            sql.SQL("SELECT status, error FROM {}.load_runs").format(sql.Identifier(fresh_schema))
        ).fetchall()
    assert len(rows) == 1
    status, error = rows[0]
    assert status == "failed"
    assert secret not in error
    expected = "RuntimeError: token " if masker_works else f"RuntimeError: {redaction.WITHHELD}"
    assert error.startswith(expected)
