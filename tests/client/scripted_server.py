"""A tiny scripted 8x8 on loopback: real HTTP, answers chosen by the test.

The simulator follows 8x8's documented behaviour, so it cannot show what the client does when 8x8
breaks it (repeated cursors, totals that disagree with the rows, a 200 with an HTML body). A
:class:`Script` lists the answers per path; :func:`serve` puts it behind a real socket.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_BODY = {"access_token": "scripted-token-abcdef", "expires_in": "1799", "token_type": "BearerToken"}
TOKEN_PATH = "/oauth/v2/token"
HISTORICAL = "/analytics/cc/v8/historical-metrics"
AGENTS_PATH = "/analytics/cc/v5/realtime-metrics/agents"


def data_path(report_id: int) -> str:
    return f"{HISTORICAL}/detailed-reports/{report_id}/data"


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    # Seconds between single bytes of the body: a server that trickles its answer.
    trickle_s: float | None = None
    # False: no Content-Length; the body ends when the connection closes (HTTP/1.0).
    length: bool = True


class Script:
    """Answers per path, in order (the last one repeats); the token endpoint always succeeds."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.sent: list[tuple[str, dict[str, str], bytes]] = []  # path, headers, body
        self._lock = threading.Lock()

    def add(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.answers.setdefault(path, []).extend(answers)

    def replace(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.answers[path] = list(answers)

    def answer(self, method: str, raw_path: str) -> Answer:
        parts = urlsplit(raw_path)
        with self._lock:
            self.requests.append((method, parts.path, parse_qs(parts.query)))
            if parts.path == TOKEN_PATH:
                return Answer(body=TOKEN_BODY)
            queue = self.answers.get(parts.path)
            if not queue:
                return Answer(status=404, body={"message": "Not found"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self, path: str) -> int:
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p == path)


@contextlib.contextmanager
def serve(script: Script, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``script`` on an ephemeral port of ``host`` (HTTPS with ``tls``); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.sent.append((urlsplit(self.path).path, dict(self.headers.items()), body))
            answer = script.answer(self.command, self.path)
            payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            if answer.length:
                self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if answer.trickle_s is None:
                self.wfile.write(payload)
                return
            self.wfile.flush()
            for index in range(len(payload)):
                try:
                    self.wfile.write(payload[index : index + 1])
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up and closed the connection
                time.sleep(answer.trickle_s)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls is not None else 'http'}://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def report_pages(
    pages: list[list[Any]],
    *,
    total_elements: int | None = None,
    total_pages: int | None = None,
    cursors: list[str | None] | None = None,
) -> list[Answer]:
    """Detailed-report data pages with 8x8's paging headers, honest unless overridden.

    Every page but the last offers a next cursor; ``cursors`` sets them explicitly (``None`` = no
    ``Last-Document-Id``, the end-of-data signal).
    """
    elements = sum(len(p) for p in pages) if total_elements is None else total_elements
    page_count = sum(1 for p in pages if p) if total_pages is None else total_pages
    if cursors is None:
        cursors = [f"cursor-{i}" if i + 1 < len(pages) else None for i in range(len(pages))]
    answers = []
    for rows, cursor in zip(pages, cursors, strict=True):
        headers = {"X-Total-Elements": str(elements), "X-Total-Pages": str(page_count)}
        if cursor is not None:
            headers["Last-Document-Id"] = cursor
        answers.append(Answer(body=rows, headers=headers))
    return answers
