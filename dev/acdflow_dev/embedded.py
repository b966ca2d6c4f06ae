"""A real PostgreSQL server for tests and the demo, started from the binaries of the ``pgserver`` wheel.

``pgserver``'s own ``get_server`` only listens on a Unix socket. Airflow connection URIs, ``psql``
and a real scheduler are all simpler with a TCP port, so this module drives ``initdb`` and
``pg_ctl`` itself and listens on loopback only.

The server's clock can be moved (:class:`FakeClock`, Debian's ``libfaketime``): the warehouse
stamps its rows with its own clock (``now()``, ``clock_timestamp()``), so a test of what happens
over days or weeks moves that clock rather than waiting.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

_PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver's convention


def _bin_dir() -> Path:
    # Located without importing pgserver: its import sets up a runtime lock directory we do not use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed; run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (loopback by default)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/sh", _PG_SYSTEM_USER], check=True, capture_output=True)  # noqa: S607
    return _PG_SYSTEM_USER


def _allow_traverse(path: Path) -> None:
    """Let the unprivileged server user reach ``path`` (adds o+rx on every parent)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _allow_read_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        d.chmod(d.stat().st_mode | 0o055)
        for name in filenames:
            f = d / name
            f.chmod(f.stat().st_mode | 0o044 | (0o011 if f.stat().st_mode & 0o100 else 0))


class EmbeddedPostgres:
    """A throw-away PostgreSQL cluster in ``data_dir`` listening on ``127.0.0.1:port``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        keep_data: bool = False,
        socket_dir: Path | None = None,
        production_wal: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.keep_data = keep_data
        # Also listen on a unix socket in this directory (as /var/run/postgresql or /cloudsql/… do).
        self.socket_dir = socket_dir
        # Tests skip fsync and full-page images for speed; a benchmark of what the warehouse writes
        # to its WAL needs the server's defaults (full_page_writes = on).
        self.production_wal = production_wal
        # Extra environment of pg_ctl and so of the postmaster and every backend it forks (e.g.
        # FakeClock.env()); without it the server inherits this process's environment.
        self.env = dict(env) if env else None
        self._user = _run_as()
        self._started = False

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, exe: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(_bin_dir() / exe), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            user=self._user,
            # pg_ctl too: it tells its new postmaster from a stale one by comparing their clocks.
            env={**os.environ, **self.env} if self.env else None,
        )

    def _prepare_permissions(self) -> None:
        if self._user is None:
            return
        _allow_traverse(self.data_dir)
        install = _bin_dir().parent
        _allow_traverse(install)
        _allow_read_tree(install)
        entry = pwd.getpwnam(self._user)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if self.socket_dir is not None:
            _allow_traverse(self.socket_dir)
            os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)

    def start(self) -> str:
        """Initialise the cluster if needed, start it and return its URI."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if (self.data_dir / "postmaster.pid").exists():
            # A server left behind by a killed process still holds this directory; stop it first.
            subprocess.run(
                [str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                check=False,
                capture_output=True,
                timeout=60,
                user=self._user,
            )
        if not (self.data_dir / "PG_VERSION").exists():
            self._pg(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
        sockets = f"'{self.socket_dir}'" if self.socket_dir is not None else "''"
        durability = "" if self.production_wal else " -c fsync=off -c full_page_writes=off"
        opts = f"-h 127.0.0.1 -p {self.port} -k {sockets}{durability} -c max_connections=200"
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            opts,
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self._started = True
        self._wait_ready()
        return self.uri

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.uri, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self._started:
            try:
                try:
                    self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
                except subprocess.CalledProcessError:
                    # A throw-away cluster: a client that does not let go in time (a worker
                    # process of a stack that is still stopping) must not fail the work around it.
                    self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            finally:
                self._started = False
        if not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# Debian's package ``faketime`` (library package ``libfaketime``). Its thread-safe build also
# blocks signals while it reads the clock: a backend's timeout handler (SIGALRM) reads the clock
# too, and must not run inside the library's own file read.
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


class FakeClock:
    """A server clock that a test moves: ``libfaketime`` preloaded into the server reads the
    offset from real time from a file on every clock call, so every backend, the ones already
    running included, sees a move at once.

    The clock keeps running at real speed from the instant it is set to, and only moves forward:
    a server whose clock jumps back would see intervals it measured turn negative. Move it between
    statements: PostgreSQL times its timeouts (``statement_timeout``, ``lock_timeout``) on this
    clock, so one armed while the clock jumps ahead fires at once. Pass :meth:`env` to
    :class:`EmbeddedPostgres`; the clock is set to ``start`` before the server starts, so the
    server never sees the real time at all::

        clock = FakeClock(tmp / "clock", start=datetime(2026, 10, 1, 6, tzinfo=UTC))
        with EmbeddedPostgres(tmp / "pg", env=clock.env()) as pg:
            clock.set(datetime(2026, 10, 2, 6, tzinfo=UTC))  # SELECT now() says so
    """

    def __init__(self, path: Path, *, start: datetime, library: Path = LIBFAKETIME) -> None:
        if not library.is_file():
            raise RuntimeError(f"{library} is missing: install Debian's package faketime")
        self.path = Path(path).resolve()
        self.library = library
        self._offset: float | None = None
        self.set(start)

    @staticmethod
    def available(library: Path = LIBFAKETIME) -> bool:
        return library.is_file()

    def env(self) -> dict[str, str]:
        """The environment that puts a server (and every process it forks) on this clock."""
        return {
            "LD_PRELOAD": str(self.library),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            # Re-read the file on every call: a move applies at once, not after a cache expires.
            "FAKETIME_NO_CACHE": "1",
            # Waits and elapsed-time measurements on the monotonic clock stay real: a move of the
            # wall clock by days stretches none of them.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # File times stay real: the server compares them with each other, never with now.
            "NO_FAKE_STAT": "1",
        }

    def now(self) -> datetime:
        """The server's time now."""
        assert self._offset is not None
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def set(self, instant: datetime) -> None:
        """Move the clock to ``instant`` (aware, not before the clock's time now)."""
        if instant.utcoffset() is None:
            raise ValueError("the clock needs an aware datetime")
        if self._offset is not None and instant < self.now():
            raise ValueError(
                f"the clock only moves forward: {instant.isoformat()} < {self.now().isoformat()}"
            )
        offset = (instant - datetime.now(UTC)).total_seconds()
        # Written aside and renamed: a backend reading the file never sees it half written.
        staging = self.path.with_name(self.path.name + ".new")
        staging.write_text(f"{offset:+.6f}\n")
        staging.chmod(0o644)
        os.replace(staging, self.path)
        if os.geteuid() == 0:
            _allow_traverse(self.path)
        self._offset = offset

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def airflow_conn_from_uri(uri: str, *, description: str | None = None) -> dict[str, Any]:
    """The JSON form of an Airflow ``postgres`` connection (``AIRFLOW_CONN_*``, ``connections
    import``) for a libpq URI such as :attr:`EmbeddedPostgres.uri`."""
    parts = psycopg.conninfo.conninfo_to_dict(uri)
    conn: dict[str, Any] = {
        "conn_type": "postgres",
        "host": str(parts.get("host") or "127.0.0.1"),
        "port": int(str(parts.get("port") or 5432)),
        "login": str(parts.get("user") or "postgres"),
        "schema": str(parts.get("dbname") or "postgres"),
    }
    if parts.get("password"):
        conn["password"] = str(parts["password"])
    if description:
        conn["description"] = description
    return conn
