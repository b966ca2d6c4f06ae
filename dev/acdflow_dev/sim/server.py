"""The HTTP front of the simulator: a ``ThreadingHTTPServer`` on loopback plus the ``/_sim`` admin API.

Admin endpoints (never logged, never faulted)::

    GET    /_sim/health            {"status": "ok", "now": iso}
    GET    /_sim/requests          request log (list of RequestRecord)
    DELETE /_sim/requests          clear it
    GET    /_sim/clock             {"now": iso, "fixed": bool}
    PUT    /_sim/clock             {"now": iso} | {"real": true} | {"advance_seconds": n}
    GET    /_sim/faults            current spec and pending one-shot faults
    PUT    /_sim/faults            {"spec": "..."} and/or {"fail_next": [503], "path_contains": "..."}
                                   or {"clear": true}
    POST   /_sim/revoke-tokens     revoke every token
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from acdflow_dev.sim.simulator import RequestContext, RequestRecord, Response, Simulator, json_response


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Several DAGs and their retries connect at once while the accepting thread may be waiting
    # for the GIL; the default backlog of 5 would drop their SYNs (a retransmit costs a second).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        super().__init__(address, _Handler)
        self.sim = sim


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle's algorithm the body of a small answer waits for
    # the client's delayed ACK of the headers, about 40 ms a request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines; the request log is the record."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        sim = self.server.sim
        started = time.time()
        split = urlsplit(self.path)
        path, query = split.path, split.query
        body = self._read_body()
        if path.startswith("/_sim/") or path == "/_sim":
            self._send(_admin(sim, self.command, path, body))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        ctx = RequestContext()
        response: Response | None = None
        if sim.is_api_path(path):
            decision = sim.faults.decide(path, token_endpoint=path == "/oauth/v2/token")
            if decision.kind is not None:
                ctx.fault = decision.kind
                if decision.latency_ms:
                    time.sleep(decision.latency_ms / 1000)
                response = sim.fault_response(decision.kind, ctx)
        if response is None:
            host = (
                self.headers.get("Host")
                or f"{self.server.server_address[0]!s}:{self.server.server_address[1]}"
            )
            try:
                response = sim.handle(self.command, path, query, headers, body, host, ctx)
            except Exception as exc:  # the simulator must answer, even on its own bugs
                response = json_response(500, {"message": f"Simulator error: {type(exc).__name__}: {exc}"})
        # Logged before the answer is written: a client that reads the log right after its
        # response always finds the record, and a client that already hung up (timeout) still
        # leaves one.
        sim.log_request(
            RequestRecord(
                self.command, path, query, response.status, started, time.time(), ctx.tenant_id, ctx.fault
            )
        )
        if response.reset:
            self._reset()
            return
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Close the connection with a TCP RST and no response (fault kind ``reset``)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def _admin(sim: Simulator, method: str, path: str, body: bytes) -> Response:
    try:
        payload: Any = json.loads(body.decode() or "{}")
    except ValueError:
        return json_response(400, {"message": "Bad request: body must be JSON"})
    if not isinstance(payload, dict):
        return json_response(400, {"message": "Bad request: body must be a JSON object"})
    route = path.rstrip("/")
    try:
        if route == "/_sim/health" and method == "GET":
            return json_response(200, {"status": "ok", "now": sim.clock.now().isoformat()})
        if route == "/_sim/requests":
            if method == "GET":
                return json_response(200, [r.to_json() for r in sim.request_log()])
            if method == "DELETE":
                sim.clear_request_log()
                return json_response(200, {"cleared": True})
        if route == "/_sim/clock":
            if method == "PUT":
                if payload.get("real"):
                    sim.clock.use_real_time()
                if "now" in payload:
                    sim.clock.set(datetime.fromisoformat(str(payload["now"]).replace("Z", "+00:00")))
                if "advance_seconds" in payload:
                    sim.clock.advance(timedelta(seconds=float(payload["advance_seconds"])))
            if method in ("GET", "PUT"):
                return json_response(200, {"now": sim.clock.now().isoformat(), "fixed": sim.clock.is_fixed})
        if route == "/_sim/faults":
            if method == "PUT":
                if payload.get("clear"):
                    sim.faults.clear()
                if "spec" in payload:
                    sim.faults.configure(str(payload["spec"]))
                if "fail_next" in payload:
                    sim.faults.fail_next(list(payload["fail_next"]), payload.get("path_contains"))
            if method in ("GET", "PUT"):
                return json_response(200, sim.faults.describe())
        if route == "/_sim/revoke-tokens" and method == "POST":
            sim.revoke_tokens()
            return json_response(200, {"revoked": True})
    except (ValueError, TypeError) as exc:
        return json_response(400, {"message": f"Bad request: {exc}"})
    return json_response(404, {"message": "Not found"})


class SimServer:
    """A running simulator HTTP server (background thread)."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._httpd = _Server((host, port), sim)
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="acdflow-sim", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop`` is called from another thread."""
        self._serving = True
        self._httpd.serve_forever()

    def stop(self) -> None:
        # shutdown() waits for serve_forever to acknowledge, so only call it on a running server.
        if self._thread is not None or self._serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
