"""A throw-away Redis for the Celery broker of a local Airflow: Debian's ``redis-server`` on a free
loopback port, no persistence, gone when the ``with`` block ends::

    with RedisServer(tmp_path / "redis") as redis:
        airflow = LocalAirflow(..., executor="CeleryExecutor", broker_url=redis.url(0))

Nothing is written to disk but the server's log: no RDB snapshots, no append-only file, so a
stopped server leaves no state for the next run to find.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from acdflow_dev.embedded import free_port

__all__ = ["RedisServer", "RedisUnavailableError"]

HOST = "127.0.0.1"
# A port taken between choosing it and the server binding it: try again with another.
_BIND_ATTEMPTS = 3


class RedisUnavailableError(RuntimeError):
    """redis-server is not installed, or it did not start."""


class RedisServer:
    """``redis-server`` on ``127.0.0.1:<free port>``, its working directory and log in ``root``."""

    def __init__(self, root: Path, *, executable: str | None = None, timeout: float = 30) -> None:
        found = executable or shutil.which("redis-server") or _debian_path()
        if found is None:
            raise RedisUnavailableError(
                "redis-server was not found (looked on PATH and in /usr/bin): install Debian's"
                " redis-server package (apt-get install redis-server); the server is started"
                " and stopped by the caller, the system service is not needed"
            )
        self.executable = found
        self.root = root
        self.timeout = timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "redis.log"

    def url(self, db: int = 0) -> str:
        if not self.port:
            raise RedisUnavailableError("the Redis server is not running")
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(_BIND_ATTEMPTS):
            self.port = free_port(HOST)
            self._spawn()
            try:
                self._wait_ready()
                return self
            except RedisUnavailableError as exc:
                last = str(exc)
                self.stop()
                if "Address already in use" not in last:
                    break
        raise RedisUnavailableError(last)

    def _spawn(self) -> None:
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [
                self.executable,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--dir",
                str(self.root),
                # A broker of a test run: nothing to keep, and no fork for snapshots on 2 cores.
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                "",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the caller is handled by stop(), not by the server
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RedisUnavailableError(
                    f"redis-server exited with {self._proc.returncode}:\n{self._log_tail()}"
                )
            if self.ping():
                return
            time.sleep(0.1)
        raise RedisUnavailableError(
            f"redis-server did not answer on {HOST}:{self.port} within {self.timeout:.0f} s:\n"
            + self._log_tail()
        )

    def ping(self) -> bool:
        """Whether the server answers ``PING`` (RESP, no client library needed)."""
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _log_tail(self, chars: int = 3000) -> str:
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.port = 0


def _debian_path() -> str | None:
    # /usr/bin is where Debian installs it; a PATH without it (a minimal CI shell) must not hide it.
    path = Path("/usr/bin/redis-server")
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None
