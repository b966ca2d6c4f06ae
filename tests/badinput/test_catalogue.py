"""Each malformation of the catalogue, through the real pipeline into a real PostgreSQL.

For every case: the rows served equal the rows accounted for (loaded + quarantined + filtered +
duplicates), the bad row ends where the catalogue says (with its reason), and the valid rows around
it are loaded with the right values. For a broken HTTP answer: the run fails with the named error,
nothing of the report is written, and the next attempt against a healthy 8x8 loads everything.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from acdflow.eightbyeight import ApiError
from tests.badinput.catalogue import (
    AHT_CATEGORIES,
    AHT_EXCLUDED,
    CATEGORIES,
    HTTP_CASES,
    HTTP_ROW_IDS,
    LIVE_CASES,
    LIVE_START,
    ROW_CASES,
    SUSPECT_AHT,
    VALID_AHT,
    VALID_INTERACTION_A,
    VALID_INTERACTION_B,
    VALID_INTERACTION_IDS,
    VALID_LIVE_AGENTS,
    VALID_STATUS_AGENTS,
    Collapsed,
    Duplicate,
    Filtered,
    HttpCase,
    LiveCase,
    Loaded,
    Quarantined,
    RowCase,
    Skipped,
    honest_agent_pages,
    honest_interaction_pages,
    number_literals,
    suspect,
)
from tests.badinput.harness import Pipeline, module_schema, scripted_pipeline
from tests.client.scripted_server import AGENTS_PATH, Answer, Script, data_path, report_pages
from tests.transform.transform_testlib import utc

REPORT_ID = 5


@pytest.fixture(scope="module")
def catalogue_schema(warehouse_uri: str) -> Iterator[str]:
    """One migrated schema for the module; each case imports as an integration of its own."""
    with module_schema(warehouse_uri) as schema:
        yield schema


@pytest.fixture
def scripted(
    monkeypatch: pytest.MonkeyPatch, warehouse_uri: str, catalogue_schema: str
) -> Iterator[tuple[Pipeline, Script]]:
    integration = f"case_{uuid.uuid4().hex[:10]}"
    with scripted_pipeline(monkeypatch, warehouse_uri, catalogue_schema, integration) as pair:
        yield pair


def test_catalogue_names_every_malformation_once() -> None:
    cases: list[RowCase | LiveCase | HttpCase] = [*ROW_CASES, *LIVE_CASES, *HTTP_CASES]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert {c.category for c in cases} == set(CATEGORIES)
    # Both detailed reports and the realtime answer get the row-level malformations.
    for category in ("missing key", "null value", "timestamp without offset", "not a JSON row or element"):
        assert {c.report for c in ROW_CASES if c.category == category} == {"interactions", "agent_status"}
        assert any(c.category == category for c in LIVE_CASES)


def _json(value: Any) -> Any:
    """What a value looks like after a trip through JSON (the warehouse stores raw rows as jsonb)."""
    return json.loads(json.dumps(value))


def _quarantined(pipeline: Pipeline, source: str) -> list[tuple[str, Any]]:
    return [
        (str(reason), raw)
        for reason, raw in pipeline.query(
            "SELECT reason, raw FROM {schema}.rejected_rows WHERE integration = %s AND source = %s"
            " ORDER BY first_seen_at, row_hash",
            pipeline.integration,
            source,
        )
    ]


def _row(pipeline: Pipeline, table: str, key: str, value: str, columns: list[str]) -> dict[str, Any]:
    selected = ", ".join(columns)
    rows = pipeline.query(
        f"SELECT {selected} FROM {{schema}}.{table} WHERE integration = %s AND {key} = %s",
        pipeline.integration,
        value,
    )
    assert len(rows) == 1, rows
    return dict(zip(columns, rows[0], strict=True))


def _served(pages: list[list[Any]]) -> list[Answer]:
    """The report's pages as 8x8 would send them, number literals written bare (unquoted)."""
    answers = report_pages(pages)
    literals = {str(n) for n in number_literals(pages)}
    if not literals:
        return answers
    bare = []
    for answer in answers:
        payload = json.dumps(answer.body)
        for literal in literals:
            payload = payload.replace(json.dumps(literal), literal)
        assert all(json.dumps(literal) not in payload for literal in literals)
        bare.append(Answer(answer.status, answer.body, answer.headers, payload.encode()))
    return bare


def _import(case: RowCase, pipeline: Pipeline, script: Script) -> tuple[dict[str, dict[str, Any]], int]:
    """Serve the case's report and run its DAG's steps; returns the step summaries and rows served."""
    pages = case.report_pages()
    script.add(data_path(REPORT_ID), *_served(pages))
    run = pipeline.import_interactions if case.report == "interactions" else pipeline.import_agent_status
    result = run(REPORT_ID)
    served = sum(len(p) for p in pages)
    assert result["extract"]["rows_fetched"] == result["transform"]["rows_fetched"] == served
    return result, served


def _check_quarantine(case: RowCase, pipeline: Pipeline, result: dict[str, dict[str, Any]]) -> None:
    quarantined = _quarantined(pipeline, case.report)
    rejected = result["transform"]["rows_rejected"]
    if isinstance(case.outcome, Quarantined):
        assert quarantined == [(case.outcome.reason, _json(case.rows[-1]))]
        assert rejected == result["load"]["rejected_new"] == 1
    else:
        assert quarantined == []
        assert rejected == 0
    duplicates = case.outcome.count if isinstance(case.outcome, Duplicate) else 0
    assert result["transform"]["duplicates"] == duplicates


def _check_interval_aht(case: RowCase, pipeline: Pipeline, result: dict[str, dict[str, Any]]) -> None:
    """Every interval_aht row equals what the loaded rows' participant timestamps give, worked out
    here: the bad row costs at most its own handling time, and nothing overflowed on the way."""
    groups = {key: list(times) for key, times in VALID_AHT.items()}
    if case.id in SUSPECT_AHT:
        key, handling_ms = SUSPECT_AHT[case.id]
        groups.setdefault(key, []).append(handling_ms)
    expected = {
        key: (len(times), sum(times), (Decimal(sum(times)) / len(times) / 1000).quantize(
            Decimal("0.001"), rounding=ROUND_HALF_UP))
        for key, times in groups.items()
    }  # fmt: skip
    actual = {
        (r[0], r[1], r[2]): (r[3], r[4], r[5])
        for r in pipeline.query(
            "SELECT interval_start, queue_name, channel, handled_count, handling_ms_sum, aht_seconds"
            " FROM {schema}.interval_aht WHERE integration = %s",
            pipeline.integration,
        )
    }
    assert actual == expected
    assert result["transform"]["aht_excluded"] == AHT_EXCLUDED.get(case.id, {})


@pytest.mark.parametrize("case", [c for c in ROW_CASES if c.report == "interactions"], ids=lambda c: c.id)
def test_interaction_row(case: RowCase, scripted: tuple[Pipeline, Script]) -> None:
    pipeline, script = scripted
    result, served = _import(case, pipeline, script)

    t = result["transform"]
    assert t["records"] + t["rows_rejected"] + sum(t["filtered"].values()) + t["duplicates"] == served
    outcome = case.outcome
    expected_ids = set(VALID_INTERACTION_IDS) | ({"suspect"} if isinstance(outcome, Loaded) else set())
    loaded = {r[0] for r in pipeline.query(
        "SELECT interaction_id FROM {schema}.interactions WHERE integration = %s", pipeline.integration
    )}  # fmt: skip
    assert loaded == expected_ids
    assert t["records"] == len(expected_ids)
    # The valid neighbours are loaded with the values their rows say, whatever came between them.
    assert _row(pipeline, "interactions", "interaction_id", "valid-a", ["handling_ms", "queue_time"]) == {
        "handling_ms": 360_000,
        "queue_time": utc(2025, 11, 18, 16, 59, 58),
    }
    assert _row(pipeline, "interactions", "interaction_id", "valid-b", ["channel", "handling_ms"]) == {
        "channel": "chat",
        "handling_ms": 120_000,
    }
    assert pipeline.query(
        "SELECT interval_start, handled_count, handling_ms_sum FROM {schema}.interval_aht"
        " WHERE integration = %s AND channel = 'chat'",
        pipeline.integration,
    ) == [(utc(2025, 11, 18, 17, 0), 1, 120_000)]
    _check_quarantine(case, pipeline, result)
    assert t["filtered"] == ({outcome.reason: 1} if isinstance(outcome, Filtered) else {})
    if case.category in AHT_CATEGORIES:
        _check_interval_aht(case, pipeline, result)
    if isinstance(outcome, Loaded):
        columns = list(outcome.columns)
        assert _row(pipeline, "interactions", "interaction_id", "suspect", columns) == dict(outcome.columns)


@pytest.mark.parametrize("case", [c for c in ROW_CASES if c.report == "agent_status"], ids=lambda c: c.id)
def test_agent_status_row(case: RowCase, scripted: tuple[Pipeline, Script]) -> None:
    pipeline, script = scripted
    result, served = _import(case, pipeline, script)

    t = result["transform"]
    assert t["events"] + t["same_instant_collapsed"] + t["rows_rejected"] + t["duplicates"] == served
    outcome = case.outcome
    expected = set(VALID_STATUS_AGENTS) | ({"agSuspect"} if isinstance(outcome, Loaded) else set())
    history = pipeline.query(
        "SELECT agent_id, status_name, start_time FROM {schema}.agent_status_history WHERE integration = %s",
        pipeline.integration,
    )
    assert {r[0] for r in history} == expected
    assert len(history) == len(expected)  # one status per agent: each sent one event
    statuses = {r[0]: (r[1], r[2]) for r in history}
    assert statuses["agB"] == ("OnBreak (Lunch)", utc(2025, 11, 18, 17, 5))
    if isinstance(outcome, Collapsed):
        assert t["same_instant_collapsed"] == 1
        assert statuses[outcome.columns["agent_id"]][0] == outcome.columns["status_name"]
    else:
        assert t["same_instant_collapsed"] == 0
        assert statuses["agA"] == ("Available", utc(2025, 11, 18, 17, 0))
    _check_quarantine(case, pipeline, result)
    if isinstance(outcome, Loaded):
        columns = list(outcome.columns)
        suspect = _row(pipeline, "agent_status_history", "agent_id", "agSuspect", columns)
        assert suspect == dict(outcome.columns)


def _agent_pages(pages: list[list[Any]]) -> list[Answer]:
    total = str(len(pages))
    return [Answer(body=page, headers={"X-Total-Pages": total}) for page in pages]


@pytest.mark.parametrize("case", LIVE_CASES, ids=lambda c: c.id)
def test_live_agent_element(case: LiveCase, scripted: tuple[Pipeline, Script]) -> None:
    pipeline, script = scripted
    pages = case.agent_pages()
    served = sum(len(p) for p in pages)
    script.add(AGENTS_PATH, *_agent_pages(pages))

    record, skipped = pipeline.poll_live()

    outcome = case.outcome
    assert record.agents == served
    assert [s.reason for s in skipped] == ([outcome.reason] if isinstance(outcome, Skipped) else [])
    assert record.skipped == len(skipped)
    assert record.duplicates == (outcome.count if isinstance(outcome, Duplicate) else 0)
    expected = set(VALID_LIVE_AGENTS) | ({"agSuspect"} if isinstance(outcome, Loaded) else set())
    live = pipeline.query(
        "SELECT agent_id FROM {schema}.agent_status_live WHERE integration = %s", pipeline.integration
    )
    assert {r[0] for r in live} == expected
    assert _row(pipeline, "agent_status_live", "agent_id", "agA", ["status_name", "start_time"]) == {
        "status_name": "OnBreak (Lunch)",
        "start_time": LIVE_START,
    }
    if isinstance(outcome, Loaded):
        columns = list(outcome.columns)
        assert _row(pipeline, "agent_status_live", "agent_id", "agSuspect", columns) == dict(outcome.columns)


def _run(pipeline: Pipeline, case: HttpCase) -> None:
    if case.target == "interactions":
        pipeline.import_interactions(REPORT_ID)
    else:
        pipeline.poll_live()


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.id)
def test_broken_http_answer(case: HttpCase, scripted: tuple[Pipeline, Script]) -> None:
    pipeline, script = scripted
    outcome = case.outcome
    path = data_path(REPORT_ID) if case.target == "interactions" else AGENTS_PATH
    script.add(path, *case.answers)

    with pytest.raises(outcome.error) as caught:
        _run(pipeline, case)

    error = caught.value
    assert type(error) is outcome.error
    assert outcome.message in str(error)
    # A person reading the task log learns which integration and endpoint broke.
    assert f"8x8 (integration {pipeline.integration!r}, region US, endpoint {path})" in str(error)
    if isinstance(error, ApiError):
        assert error.status == 200  # the server said OK; the body is what was wrong
    assert script.calls(path) == outcome.data_requests
    # All or nothing: not even the pages that did arrive are kept.
    for table in ("raw_report_pages", "interactions", "rejected_rows", "agent_status_live"):
        count = pipeline.query(
            f"SELECT count(*) FROM {{schema}}.{table} WHERE integration = %s", pipeline.integration
        )
        assert count == [(0,)], table

    # 8x8 recovers: the retried task loads every row, none twice.
    if case.target == "interactions":
        script.replace(path, *honest_interaction_pages())
        summary = pipeline.import_interactions(REPORT_ID)
        assert summary["load"]["rows_loaded"] == len(HTTP_ROW_IDS)
        ids = pipeline.query(
            "SELECT interaction_id FROM {schema}.interactions WHERE integration = %s ORDER BY 1",
            pipeline.integration,
        )
        assert [r[0] for r in ids] == list(HTTP_ROW_IDS)
    else:
        script.replace(path, *honest_agent_pages())
        record, skipped = pipeline.poll_live()
        assert (record.agents, skipped) == (len(VALID_LIVE_AGENTS), [])
        agents = pipeline.query(
            "SELECT agent_id FROM {schema}.agent_status_live WHERE integration = %s ORDER BY 1",
            pipeline.integration,
        )
        assert [r[0] for r in agents] == list(VALID_LIVE_AGENTS)


@pytest.mark.parametrize("text", ["Support\x00EN", "Support\ud800EN"], ids=["nul", "lone-surrogate"])
def test_text_postgresql_cannot_store_does_not_block_the_interval(
    text: str, scripted: tuple[Pipeline, Script]
) -> None:
    pipeline, script = scripted
    pages = [[VALID_INTERACTION_A, suspect(queueName=text)], [VALID_INTERACTION_B]]
    script.add(data_path(REPORT_ID), *report_pages(pages))

    result = pipeline.import_interactions(REPORT_ID)

    t = result["transform"]
    assert t["records"] + t["rows_rejected"] + sum(t["filtered"].values()) + t["duplicates"] == 3
    loaded = pipeline.query(
        "SELECT interaction_id FROM {schema}.interactions WHERE integration = %s", pipeline.integration
    )
    assert set(VALID_INTERACTION_IDS) <= {r[0] for r in loaded}
    # The row is quarantined with its reason, and its content survives as escaped JSON.
    rejected = pipeline.query(
        "SELECT reason, raw FROM {schema}.rejected_rows WHERE integration = %s", pipeline.integration
    )
    assert len(rejected) == 1
    reason, raw = rejected[0]
    assert "cannot store" in reason
    assert json.loads(raw["acdflow_unstorable_row"]) == suspect(queueName=text)
