"""Every 8x8 request ends: an overall deadline per attempt, a cap on the body, and JSON guards, over
real HTTP to a scripted server on loopback; and a task whose server trickles its answer fails in
time, alerts and completes when run again (real Airflow, the simulator behind a trickling proxy)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from acdflow.eightbyeight import EightByEightClient, EightByEightSettings, TransientApiError
from acdflow.eightbyeight.client import MAX_JSON_DEPTH
from acdflow.eightbyeight.errors import ProtocolError
from acdflow.warehouse import store
from acdflow_dev.local.webhook import WebhookReceiver as Receiver
from tests.client.scripted_server import Answer, Script, data_path, serve
from tests.e2e.alerting import FIRST, Mailbox, alerting_pipeline, mailbox, receiver
from tests.e2e.harness import FIFTEEN, compare_with_truth

__all__ = ["mailbox", "receiver"]  # fixtures, used by name

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
    nested: Any = row  # the page's rows here are arrays, not 8x8's objects
    depth = 1
    while nested:
        (nested,) = nested
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
    # Plain json.loads reads the body otherwise: the page lands from its rows, not from the text.
    assert page.text is None
    with store.connect(warehouse_uri, fresh_schema) as conn:
        landed = store.land_pages(
            conn,
            fresh_schema,
            integration="acme",
            report_kind="x",
            report_id=5,
            pages=[store.LandingPage(page.rows, page.text)],
        )
        assert landed.rows == 1
        (stored,) = store.iter_landed_rows(conn, fresh_schema, integration="acme", report_id=5)
    assert stored == page.rows[0]


# Hop-by-hop headers and those the proxy sets itself.
_NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "host"}
)


def _is_report_page(path: str) -> bool:
    """A page ``extract`` reads; not the one-row read ``wait_for_report`` checks readiness with."""
    parts = urlsplit(path)
    return parts.path.endswith("/data") and parse_qs(parts.query).get("size") != ["1"]


class TricklingProxy:
    """A reverse proxy on loopback in front of the simulator. While :attr:`trickling` is set it
    sends the report pages a byte every ``pause_s`` seconds; everything else passes whole."""

    def __init__(self, upstream: str, pause_s: float = 0.05) -> None:
        target = urlsplit(upstream)
        assert target.hostname is not None
        assert target.port is not None
        host, port = target.hostname, target.port
        self.trickling = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._trickled: list[tuple[int, int]] = []  # (bytes sent, bytes in the answer)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                upstream = http.client.HTTPConnection(host, port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _NOT_FORWARDED | {"content-length", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if not (proxy.trickling.is_set() and _is_report_page(self.path)):
                    self.wfile.write(payload)
                    return
                self.close_connection = True
                sent = 0
                try:
                    self.wfile.flush()
                    while sent < len(payload) and not proxy._closing.is_set():
                        self.wfile.write(payload[sent : sent + 1])
                        self.wfile.flush()
                        sent += 1
                        time.sleep(pause_s)
                except OSError:
                    pass  # the client gave up and closed the connection
                finally:
                    with proxy._lock:
                        proxy._trickled.append((sent, len(payload)))

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def trickled(self) -> list[tuple[int, int]]:
        """One (bytes sent, bytes in the answer) per trickled answer that has ended."""
        with self._lock:
            return list(self._trickled)

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()


# Shortened for the test: the factory's extract bound is 60 min (EXECUTION_TIMEOUTS). In
# production the client's own bound comes first: 120 s per attempt, at most 5 attempts.
EXTRACT_TIMEOUT = timedelta(seconds=10)


@pytest.mark.usefixtures("airflow_db")
def test_a_task_whose_server_trickles_fails_in_time_alerts_and_its_rerun_completes(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every page ``extract`` asks for trickles in a byte at a time: each read is far inside the
    read timeout, so only the task's ``execution_timeout`` ends each try. After the last try the
    integration's webhook and mail get the alert; once 8x8 answers normally, a re-run of the DAG
    run completes and the warehouse equals the simulator's ground truth."""
    from acdflow import factory

    box, smtp_port = mailbox
    monkeypatch.setitem(factory.EXECUTION_TIMEOUTS, "extract", EXTRACT_TIMEOUT)
    pipe = alerting_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        receiver,
        smtp_port,
        retries=2,
        retry_delay_seconds=1,
        max_retry_delay_seconds=2,
    )
    proxy = TricklingProxy(pipe.base_url)
    request.addfinalizer(proxy.close)
    pipe.base_url = proxy.url
    proxy.trickling.set()

    dag_run = pipe.run(FIRST, expect="failed")
    tries = pipe.query(
        "SELECT try_number, status, error, duration_ms FROM {schema}.load_runs"
        " WHERE step = 'extract' ORDER BY id"
    )
    assert [(t["try_number"], t["status"]) for t in tries] == [(n, "failed") for n in (1, 2, 3)]
    limit_ms = EXTRACT_TIMEOUT.total_seconds() * 1000
    for attempt in tries:
        assert attempt["error"].startswith("AirflowTaskTimeout"), attempt["error"]
        assert limit_ms - 2000 <= attempt["duration_ms"] < limit_ms + 5000, attempt["duration_ms"]
    # Each try read one page that never arrived whole, and its client hung up.
    deadline = time.monotonic() + 10
    while len(proxy.trickled()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    trickled = proxy.trickled()
    assert len(trickled) == 3, trickled
    assert all(0 < sent < size for sent, size in trickled), trickled
    assert pipe.query("SELECT 1 FROM {schema}.interactions WHERE integration = %s", pipe.name) == []

    (alert,) = receiver.received()
    assert alert["dag_id"] == "alerted__interactions"
    assert alert["task_id"] == "extract"
    assert alert["run_id"] == dag_run.run_id
    assert alert["data_interval_start"] == FIRST.isoformat()
    assert alert["try_number"] == 3
    assert alert["error"].startswith("AirflowTaskTimeout"), alert["error"]
    (mail,) = box.messages
    assert "extract" in mail["Subject"]

    proxy.trickling.clear()
    pipe.run(FIRST)
    compare_with_truth(pipe, FIRST, FIRST + FIFTEEN)
    # The run that completed sends nothing.
    assert len(receiver.received()) == 1
    assert len(box.messages) == 1
