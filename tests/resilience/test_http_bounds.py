"""Every 8x8 request ends: an overall deadline per attempt, a cap on the body, and JSON guards, over
real HTTP to a scripted server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from acdflow.eightbyeight import EightByEightClient, EightByEightSettings, TransientApiError
from acdflow.eightbyeight.client import MAX_JSON_DEPTH
from acdflow.eightbyeight.errors import ProtocolError
from acdflow.warehouse import store
from tests.client.scripted_server import Answer, Script, data_path, serve

DATA_PATH = data_path(5)


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve(script) as url:
        yield script, url


def make_client(base_url: str, **overrides: Any) -> EightByEightClient:
    values: dict[str, Any] = {"backoff_base_s": 0.01, "backoff_cap_s": 0.02, "max_attempts": 2, **overrides}
    settings = EightByEightSettings("id", "scripted-secret", "us", "UTC", base_url=base_url, **values)
    return EightByEightClient(settings)


def one_page(rows: list[Any]) -> Answer:
    return Answer(body=rows, headers={"X-Total-Elements": str(len(rows)), "X-Total-Pages": "1"})


def raw_page(payload: bytes, rows: int, **kwargs: Any) -> Answer:
    return Answer(raw=payload, headers={"X-Total-Elements": str(rows), "X-Total-Pages": "1"}, **kwargs)


ROWS = [{"total": None, "items": [{"key": "interactionId", "value": f"int-{i}"}]} for i in range(20)]


def test_a_trickling_answer_fails_within_the_overall_deadline(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    # A byte every 0.1 s: each read is far inside the 1 s read timeout, the whole body never is.
    script.add(DATA_PATH, Answer(body=ROWS, trickle_s=0.1, headers=one_page(ROWS).headers))
    with make_client(url, timeout_s=1.0, deadline_s=1.5) as client:
        started = time.monotonic()
        with pytest.raises(TransientApiError, match=r"no complete answer within the 1\.5 s deadline"):
            list(client.iter_detailed_rows(5))
        elapsed = time.monotonic() - started
    # Two attempts of 1.5 s each, plus the token call and backoff.
    assert 3.0 <= elapsed < 5.0, elapsed
    assert script.calls(DATA_PATH) == 2


def test_a_retry_after_a_trickling_answer_completes(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.add(DATA_PATH, Answer(body=ROWS, trickle_s=0.1, headers=one_page(ROWS).headers), one_page(ROWS))
    with make_client(url, timeout_s=1.0, deadline_s=1.0) as client:
        started = time.monotonic()
        assert list(client.iter_detailed_rows(5)) == ROWS
        assert time.monotonic() - started < 3.0
        assert client.stats.retries == 1


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "until-close"])
def test_a_body_over_the_cap_fails_clearly_and_is_not_retried(
    scripted: tuple[Script, str], length: bool
) -> None:
    script, url = scripted
    payload = json.dumps(ROWS).encode()
    assert len(payload) > 1000
    script.add(DATA_PATH, raw_page(payload, len(ROWS), length=length))
    with make_client(url, max_response_bytes=1000) as client, pytest.raises(ProtocolError) as caught:
        list(client.iter_detailed_rows(5))
    assert "over the 1000 byte cap (max_response_bytes)" in str(caught.value)
    assert script.calls(DATA_PATH) == 1
    # Under the cap, the same answer is read.
    script.replace(DATA_PATH, raw_page(payload, len(ROWS), length=length))
    with make_client(url, max_response_bytes=len(payload)) as client:
        assert list(client.iter_detailed_rows(5)) == ROWS


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000])
def test_deeply_nested_json_is_a_clear_protocol_error(scripted: tuple[Script, str], depth: int) -> None:
    script, url = scripted
    script.add(DATA_PATH, raw_page(b"[" * depth + b"]" * depth, 1))
    with make_client(url) as client, pytest.raises(ProtocolError) as caught:
        list(client.iter_detailed_rows(5))
    assert f"response nested deeper than {MAX_JSON_DEPTH} levels" in str(caught.value)
    assert script.calls(DATA_PATH) == 1


def test_nesting_up_to_the_limit_is_read(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    # The page is the outermost array: MAX_JSON_DEPTH levels in all.
    inner = MAX_JSON_DEPTH - 1
    script.add(DATA_PATH, raw_page(b"[" + b"[" * inner + b"]" * inner + b"]", 1))
    with make_client(url) as client:
        (row,) = client.iter_detailed_rows(5)
    depth = 1
    while row:
        (row,) = row
        depth += 1
    assert depth == inner


def test_absurd_numbers_stay_text_so_the_page_lands(
    scripted: tuple[Script, str], warehouse_uri: str, fresh_schema: str
) -> None:
    script, url = scripted
    digits = "9" * 5000
    items = [
        f'{{"key": "handlingTime", "value": {digits}}}',
        '{"key": "a", "value": NaN}',
        '{"key": "b", "value": -Infinity}',
        '{"key": "c", "value": 1e999}',
        '{"key": "d", "value": 12}',
        '{"key": "e", "value": 1.5}',
    ]
    row = '{"total": null, "items": [' + ", ".join(items) + "]}"
    script.add(DATA_PATH, raw_page(f"[{row}]".encode(), 1))
    with make_client(url) as client:
        (page,) = client.iter_detailed_pages(5)
    values = [item["value"] for item in page.rows[0]["items"]]
    assert values == [digits, "NaN", "-Infinity", "1e999", 12, 1.5]
    assert [type(v) for v in values] == [str, str, str, str, int, float]
    with store.connect(warehouse_uri, fresh_schema) as conn:
        landed = store.land_pages(
            conn, fresh_schema, integration="acme", report_kind="x", report_id=5, pages=[page.rows]
        )
        assert landed.rows == 1
        (stored,) = store.iter_landed_rows(conn, fresh_schema, integration="acme", report_id=5)
    assert stored == page.rows[0]
