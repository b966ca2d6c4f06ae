"""Offline tests of answers the simulator never gives: a tiny scripted HTTP server on loopback.

The simulator follows 8x8's documented behaviour, so it cannot show what the client does when 8x8
bends it (a server that never stops paging, a Retry-After date, a bad body followed by a good one).
These tests script such answers over real HTTP; sleeping is recorded instead of done. Malformed
pages, headers and cursors are catalogued, with their outcome through the pipeline, in
``tests/badinput``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from acdflow.eightbyeight import (
    ApiError,
    EightByEightClient,
    EightByEightSettings,
    PaginationError,
    ReportFailedError,
)
from acdflow.eightbyeight.client import INTERACTION_DETAILS

from .scripted_server import TOKEN_BODY, Answer, Script, data_path, serve

DATA_PATH = data_path(5)


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve(script) as url:
        yield script, url


def make_client(base_url: str, sleeps: list[float], **overrides: Any) -> EightByEightClient:
    values: dict[str, Any] = {"backoff_base_s": 0.01, "backoff_cap_s": 0.02, "max_attempts": 3, **overrides}
    settings = EightByEightSettings("id", "scripted-secret", "us", "UTC", base_url=base_url, **values)
    return EightByEightClient(settings, sleep=sleeps.append)


def page(n: int, *, total: int, pages: int, cursor: str | None) -> Answer:
    headers = {"X-Total-Elements": str(total), "X-Total-Pages": str(pages), "X-Page-Size": "2"}
    if cursor:
        headers["Last-Document-Id"] = cursor
        headers["Link"] = f'<http://x{DATA_PATH}?size=2&lastDocumentId={cursor}>; rel="next"'
    return Answer(
        body=[{"total": None, "items": [{"key": "n", "value": i}]} for i in range(n)], headers=headers
    )


def test_loop_guard_stops_a_server_that_never_ends(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    # Each page offers a new cursor and the totals never add up: the guard stops at X-Total-Pages + 1.
    script.add(DATA_PATH, *[page(1, total=10**6, pages=2, cursor=f"c{i}") for i in range(50)])
    with make_client(url, []) as client, pytest.raises(PaginationError, match="loop guard"):
        list(client.iter_detailed_rows(5, page_size=2))
    assert len([r for r in script.requests if r[1] == DATA_PATH]) == 3


def test_cursor_is_passed_on_and_first_page_has_none(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    cursor = "eyJzZWFyY2hBZnRlciI6WzE2NDQ0NzA0MzQ5NzIsOTQ1MDExNzMwMjhdfQ=="
    script.add(DATA_PATH, page(2, total=3, pages=2, cursor=cursor), page(1, total=3, pages=2, cursor=None))
    with make_client(url, []) as client:
        rows = list(client.iter_detailed_rows(5, page_size=2))
    assert len(rows) == 3
    queries = [q for _, p, q in script.requests if p == DATA_PATH]
    assert "lastDocumentId" not in queries[0]
    assert queries[1]["lastDocumentId"] == [cursor]  # '=' survives URL encoding
    assert queries[0]["size"] == ["2"]


def test_bad_body_once_then_good_page_recovers(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.add(DATA_PATH, Answer(raw=b"<html>oops</html>"), page(1, total=1, pages=1, cursor=None))
    with make_client(url, []) as client:
        assert len(list(client.iter_detailed_rows(5))) == 1
        assert client.stats.retries == 1


def test_retry_after_http_date_is_never_undercut(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    # The handler's own Date header is the real time, the reference the client uses for the date.
    retry_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    script.add(
        DATA_PATH,
        Answer(
            status=429,
            body={"fault": {"faultstring": "Spike arrest violation"}},
            headers={"Retry-After": format_datetime(retry_at, usegmt=True)},
        ),
        page(1, total=1, pages=1, cursor=None),
    )
    sleeps: list[float] = []
    with make_client(url, sleeps) as client:
        assert len(list(client.iter_detailed_rows(5))) == 1
    assert len(sleeps) == 1
    # HTTP dates have whole seconds and the Date header truncates too: 29-31 s, never the 0.01 s backoff.
    assert 28.5 <= sleeps[0] <= 31.0


def test_too_long_retry_after_fails_instead_of_blocking(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.add(DATA_PATH, Answer(status=503, body={}, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    with make_client(url, sleeps) as client, pytest.raises(Exception, match="Retry-After 3600"):
        list(client.iter_detailed_rows(5))
    assert sleeps == []


def test_create_accepts_one_element_array_and_fails_on_non_done(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    create = "/analytics/cc/v8/historical-metrics/detailed-reports"
    script.add(
        create,
        Answer(body=[{"id": 77, "status": "DONE"}]),
        Answer(body=[{"id": 78, "status": "IN_PROGRESS"}]),
    )
    args: dict[str, Any] = {
        "start": "2025-11-18T08:00:00.000Z",
        "end": "2025-11-18T08:59:59.999Z",
        "timezone": "UTC",
    }
    with make_client(url, []) as client:
        assert client.create_detailed_report(INTERACTION_DETAILS, **args) == 77
        with pytest.raises(ReportFailedError, match="IN_PROGRESS"):
            client.create_detailed_report(INTERACTION_DETAILS, **args)


def test_error_text_never_quotes_the_token_or_secret(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    leaky = {"message": f"bad token {TOKEN_BODY['access_token']} for secret scripted-secret"}
    script.add(DATA_PATH, Answer(status=400, body=leaky))
    with make_client(url, []) as client, pytest.raises(ApiError) as caught:
        list(client.iter_detailed_rows(5))
    text = str(caught.value) + repr(caught.value)
    assert TOKEN_BODY["access_token"] not in text
    assert "scripted-secret" not in text
    assert "bad token ***" in text


def test_request_shapes_token_call_and_metrics_call(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.add("/analytics/cc/v5/realtime-metrics/agents", Answer(body=[], headers={"X-Total-Pages": "0"}))
    with make_client(url, [], tenant_id="acmecorp01") as client:
        assert list(client.iter_live_agents()) == []
    (token_path, token_headers, token_body), (rt_path, rt_headers, _) = script.sent
    assert token_path == "/oauth/v2/token"
    # 8x8's token request: Basic credentials, form grant_type only, no scope, no tenant header, no bearer.
    assert token_headers["Authorization"] == "Basic " + base64.b64encode(b"id:scripted-secret").decode()
    assert token_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_body == b"grant_type=client_credentials"
    assert "X-Tenant-Info" not in token_headers
    # Metrics calls: bearer (literal "Bearer", not token_type), JSON, tenant on every metrics call.
    assert rt_path == "/analytics/cc/v5/realtime-metrics/agents"
    assert rt_headers["Authorization"] == f"Bearer {TOKEN_BODY['access_token']}"
    assert rt_headers["Accept"] == "application/json"
    assert rt_headers["X-Tenant-Info"] == "acmecorp01"
    # Zero agents: X-Total-Pages 0 means one request and nothing yielded, never page 1.
    assert [q.get("page") for _, p, q in script.requests if p == rt_path] == [["0"]]
