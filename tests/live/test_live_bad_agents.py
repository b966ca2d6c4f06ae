"""Bad agents in the realtime ``/agents`` answer are skipped and recorded while every other agent's
status is stored and the poll loop keeps going: a scripted 8x8 over real HTTP, a real PostgreSQL,
with the trigger's asynchronous client (``httpx``) and the tools' synchronous one (``requests``),
which must read the same literals (5,000 digits, ``NaN``, ``1e400``) the same way."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from acdflow.pipeline import live_status as loop
from acdflow.transform.rows import UNSTORABLE_ROW_KEY
from tests.badinput.catalogue import LIVE_METRICS, LIVE_START, VALID_AGENT_A, VALID_AGENT_B
from tests.badinput.harness import make_client
from tests.client.scripted_server import AGENTS_PATH, Answer, Script, serve
from tests.live import livekit
from tests.transform.transform_testlib import agent

INTEGRATION = "acme"
HUGE = "7" * 5000
LONG_ID = "ag" + "".join(f"{i * 7919 % 1000003:06x}" for i in range(500))  # 3,002 characters
# Each bad element: the raw JSON it is served as (a literal where JSON allows no Python value) and
# the reason it must be skipped with.
BAD: dict[str, tuple[str, str]] = {
    "agNul": (
        json.dumps(agent(LIVE_METRICS, id="agNul", name="Sue\x00Ann")),
        "name contains a NUL character, which PostgreSQL text cannot store",
    ),
    "agHuge": (
        json.dumps(agent({**LIVE_METRICS, "loggedInTime.rt": 1}, id="agHuge", name="Hu")).replace(
            '"value": 1}', f'"value": {HUGE}}}'
        ),
        "loggedInTime.rt is a number of 5000 digits (at most 18 expected)",
    ),
    LONG_ID: (
        json.dumps(agent(LIVE_METRICS, id=LONG_ID, name="Long")),
        "id is 3002 bytes long (at most 512 can be stored)",
    ),
    "agText": (
        json.dumps(agent({**LIVE_METRICS, "timeOnStatus.rt": "twenty"}, id="agText", name="Tx")),
        "timeOnStatus.rt is not a whole number of milliseconds ('twenty')",
    ),
    "agNaN": (
        json.dumps(agent({**LIVE_METRICS, "timeOnStatus.rt": 1}, id="agNaN", name="Na")).replace(
            '"value": 1}', '"value": NaN}'
        ),
        "timeOnStatus.rt is not a whole number of milliseconds ('NaN')",
    ),
    "agInf": (
        json.dumps(agent({**LIVE_METRICS, "timeOnStatus.rt": 1}, id="agInf", name="In")).replace(
            '"value": 1}', '"value": -Infinity}'
        ),
        "timeOnStatus.rt is not a whole number of milliseconds ('-Infinity')",
    ),
    "agE400": (
        json.dumps(agent({**LIVE_METRICS, "timeOnStatus.rt": 1}, id="agE400", name="Ex")).replace(
            '"value": 1}', '"value": 1e400}'
        ),
        "timeOnStatus.rt is not a whole number of milliseconds ('1e400')",
    ),
    "agSurrogate": (
        json.dumps(agent({**LIVE_METRICS, "statusCode.rt": "Lunch\ud800"}, id="agSurrogate", name="Su")),
        "statusCode.rt contains an unpaired surrogate, which PostgreSQL text cannot store",
    ),
    "agLongCode": (
        json.dumps(agent({**LIVE_METRICS, "statusCode.rt": "x" * 3000}, id="agLongCode", name="Lc")),
        "status name is 3010 bytes long (at most 1024 can be stored)",
    ),
}
GOOD_C = agent({**LIVE_METRICS, "status.rt": "Available", "statusCode.rt": None}, id="agC", name="Cy")
GOOD = {"agA": VALID_AGENT_A, "agB": VALID_AGENT_B, "agC": GOOD_C}


def page() -> bytes:
    # Good agents on both sides of the bad ones, so a poll that stopped at the first would show.
    elements = [json.dumps(VALID_AGENT_A), *(raw for raw, _ in BAD.values()), json.dumps(VALID_AGENT_B),
                json.dumps(GOOD_C)]  # fmt: skip
    return ("[" + ", ".join(elements) + "]").encode()


@pytest.fixture
def script() -> Iterator[tuple[Script, str]]:
    script = Script()
    script.add(AGENTS_PATH, Answer(raw=page(), headers={"X-Total-Pages": "1"}))
    with serve(script) as base_url:
        yield script, base_url


@pytest.fixture(params=livekit.DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def rows(uri: str, statement: str) -> list[dict[str, Any]]:
    with psycopg.connect(uri) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(statement)
        return cur.fetchall()


def db_now(uri: str) -> datetime:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_bad_agents_are_skipped_and_recorded_while_polling_goes_on(
    script: tuple[Script, str],
    warehouse_uri: str,
    fresh_schema: str,
    caplog: pytest.LogCaptureFixture,
    driver: str,
) -> None:
    served, base_url = script
    caplog.set_level(logging.WARNING, logger="acdflow.pipeline.live_status")
    now = db_now(warehouse_uri)
    window = loop.PollWindow(now, now + timedelta(seconds=1.2))
    result = livekit.run_loop(
        driver, make_client(base_url, INTEGRATION).settings, warehouse_uri, fresh_schema,
        integration=INTEGRATION, run_id="scheduled__bad", window=window, poll_seconds=0.2,
        owner_check_seconds=0.05,
    )  # fmt: skip

    # The loop kept polling to its deadline, every poll committing the good agents.
    assert result.end_reason == loop.WINDOW_CLOSED
    assert len(result.polls) >= 4
    assert served.calls(AGENTS_PATH) == len(result.polls)
    for record in result.polls:
        assert (record.agents, record.skipped) == (len(GOOD) + len(BAD), len(BAD))
    summary = result.summary()
    assert summary["skipped"] == len(BAD)
    assert summary["rows_rejected"] == len(BAD) * len(result.polls)
    assert summary["rejected_new"] == len(BAD)  # quarantined once, by the first poll
    assert summary["failed_polls"] == 0
    json.dumps(summary)  # the summary goes to load_runs.details (jsonb) and XCom
    assert "\x00" not in json.dumps(summary, ensure_ascii=False)
    # Summary keys name the agents, clipped when an id is unfit for a log line.
    keys = set(summary["skipped_agents"])
    assert {k for k in keys if k.startswith("ag") and len(k) < 20} == set(BAD) - {LONG_ID}
    assert len(keys) == len(BAD)
    assert all(len(k) <= 40 for k in keys)

    current = rows(
        warehouse_uri,
        f'SELECT agent_id, status_name, start_time FROM "{fresh_schema}".agent_status_live ORDER BY 1',
    )
    assert [r["agent_id"] for r in current] == sorted(GOOD)
    assert current[0] == {"agent_id": "agA", "status_name": "OnBreak (Lunch)", "start_time": LIVE_START}
    log = rows(warehouse_uri, f'SELECT agent_id FROM "{fresh_schema}".agent_status_live_log')
    assert sorted(r["agent_id"] for r in log) == sorted(GOOD)  # one status each, logged once

    # Each bad agent is one quarantined row with its reason, however many polls saw it.
    rejected = rows(
        warehouse_uri,
        f"""SELECT source, record_id, reason, raw, record_time, interval_start, report_id
            FROM "{fresh_schema}".rejected_rows WHERE integration = '{INTEGRATION}'""",
    )
    assert len(rejected) == len(BAD)
    by_id = {r["record_id"]: r for r in rejected}
    assert {k: r["reason"] for k, r in by_id.items()} == {k: reason for k, (_, reason) in BAD.items()}
    first_poll = result.polls[0]
    for row in rejected:
        assert row["source"] == "live_status"
        assert row["report_id"] is None
        assert row["record_time"] == first_poll.observed_at
        assert row["interval_start"] <= first_poll.observed_at < row["interval_start"] + timedelta(minutes=15)
        assert row["interval_start"].minute % 15 == row["interval_start"].second == 0
    # Elements PostgreSQL can store are kept as sent; the others as escaped JSON text.
    assert by_id["agText"]["raw"] == json.loads(BAD["agText"][0])
    assert by_id[LONG_ID]["raw"]["id"] == LONG_ID
    assert by_id["agHuge"]["raw"]["metrics"][-1]["value"] == HUGE  # the client's text of the literal
    nul = by_id["agNul"]["raw"][UNSTORABLE_ROW_KEY]
    assert json.loads(nul)["name"] == "Sue\x00Ann"
    assert "\\ud800" in by_id["agSurrogate"]["raw"][UNSTORABLE_ROW_KEY]

    # The log names each bad agent once (not once per poll), without the unprintable or huge id.
    skipped_lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped_lines) == len(BAD)
    text = "\n".join(skipped_lines)
    assert "\x00" not in text
    assert LONG_ID not in text
    assert "agNul" in text
    assert "name contains a NUL character" in text


def test_a_poll_of_only_bad_agents_still_commits(
    script: tuple[Script, str], warehouse_uri: str, fresh_schema: str, driver: str
) -> None:
    served, base_url = script
    served.replace(
        AGENTS_PATH,
        Answer(
            raw=("[" + ", ".join(raw for raw, _ in BAD.values()) + "]").encode(),
            headers={"X-Total-Pages": "1"},
        ),
    )
    settings = make_client(base_url, INTEGRATION).settings
    record, skipped = livekit.poll_once(
        driver, settings, warehouse_uri, fresh_schema, integration=INTEGRATION, run_id=None
    )
    assert record is not None
    assert (record.agents, record.skipped, record.changes, record.rejected_new) == (
        len(BAD),
        len(BAD),
        0,
        len(BAD),
    )
    assert sorted(s.reason for s in skipped) == sorted(reason for _, reason in BAD.values())
    again, _ = livekit.poll_once(
        driver, settings, warehouse_uri, fresh_schema, integration=INTEGRATION, run_id=None
    )
    assert again is not None
    assert again.rejected_new == 0
    count = rows(warehouse_uri, f'SELECT count(*) AS n FROM "{fresh_schema}".rejected_rows')
    assert count == [{"n": len(BAD)}]
