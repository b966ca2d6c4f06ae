"""A real Airflow on this machine: scheduler, dag processor, triggerer and API server, its metadata
in PostgreSQL. Used by ``make airflow``, the scheduler tests and the benchmarks; nothing here is
needed in a deployment, where Airflow is already running.

Two executors: the LocalExecutor (the default: the scheduler runs the tasks), or the
CeleryExecutor, with a Redis broker (:mod:`acdflow_dev.local.redis`), Celery's results in the
metadata database, and one ``airflow celery worker`` process per :class:`CeleryWorker`, each under
its own name. Every worker's tasks record that name as their host (``task_instance.hostname``),
as tasks on separate machines would record theirs.

Every process gets the same explicit JWT secret and execution-API URL: left to their defaults,
each component would generate its own secret and task workers could not talk to the API server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psycopg
from psycopg import sql

from acdflow_dev import REPO_ROOT
from acdflow_dev.embedded import free_port

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = ("LocalExecutor", "CeleryExecutor")
ADMIN_USER = "admin"
# Read by worker_hostname() in the processes of one Celery worker.
WORKER_NAME_ENV = "ACDFLOW_DEV_WORKER_NAME"

# The local settings a deployment installs (see acdflow.preload): the scheduler and Celery workers
# import the task libraries once, before they fork the task processes.
LOCAL_SETTINGS = REPO_ROOT / "config" / "airflow_local_settings.py"


def _raise_system_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _exit_cleanly_on_sigterm() -> None:
    """A terminated benchmark (``kill``, ``make`` interrupted, a CI timeout) must still stop the
    components it started: by default SIGTERM ends Python without unwinding ``with`` blocks, and the
    components, in sessions of their own, would run on."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
        signal.SIG_DFL,
        None,
    ):
        signal.signal(signal.SIGTERM, _raise_system_exit)


class AirflowStackError(RuntimeError):
    """A local Airflow component did not start or a command against it failed."""


def worker_hostname() -> str:
    """``[core] hostname_callable`` of a local Celery worker's processes: the worker's name. Workers
    on one machine would otherwise all record the machine's name in ``task_instance.hostname``."""
    from airflow.utils.net import getfqdn

    return os.environ.get(WORKER_NAME_ENV) or getfqdn()


@dataclass(frozen=True)
class CeleryWorker:
    """One ``airflow celery worker`` process: its name (Celery's ``--celery-hostname`` and the host
    its tasks record), the queues it consumes and how many tasks it runs at once."""

    name: str
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 2

    @property
    def component(self) -> str:
        """Its key among the processes and the name of its log."""
        return f"celery-worker-{self.name}"


def ensure_database(server_uri: str, dbname: str) -> str:
    """Create ``dbname`` on the server of ``server_uri`` if missing; return a URI for it."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    parts = psycopg.conninfo.conninfo_to_dict(server_uri)
    parts["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})


def sqlalchemy_url(conninfo: str) -> str:
    """A psycopg 3 SQLAlchemy URL for a libpq conninfo string or URI."""
    parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = parts.get("user") or "postgres"
    password = f":{parts['password']}" if parts.get("password") else ""
    return (
        f"postgresql+psycopg://{user}{password}@{parts.get('host', '127.0.0.1')}:"
        f"{parts.get('port', 5432)}/{parts.get('dbname', 'postgres')}"
    )


@dataclass
class LocalAirflow:
    """An Airflow home with a PostgreSQL metadata database and the processes that use it."""

    home: Path
    metadata_conninfo: str
    api_port: int = 0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    dags_folder: Path = REPO_ROOT / "dags"
    parallelism: int = 8
    # Install the shipped config/airflow_local_settings.py in this home, as a deployment does.
    preload: bool = False
    executor: str = "LocalExecutor"
    # CeleryExecutor only: the broker (a redis:// URL) and the workers start() runs.
    broker_url: str | None = None
    workers: tuple[CeleryWorker, ...] = ()
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, not {self.executor!r}")
        if self.executor == "CeleryExecutor" and not self.broker_url:
            raise ValueError("the CeleryExecutor needs a broker_url")
        if self.executor != "CeleryExecutor" and self.workers:
            raise ValueError("Celery workers need executor='CeleryExecutor'")
        if len({w.name for w in self.workers}) != len(self.workers):
            raise ValueError("Celery worker names must be unique")
        self.home.mkdir(parents=True, exist_ok=True)
        if self.preload:
            (self.home / "config").mkdir(exist_ok=True)
            shutil.copy(LOCAL_SETTINGS, self.home / "config" / LOCAL_SETTINGS.name)
        if not self.api_port:
            self.api_port = free_port()
        secret_file = self.home / "jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        passwords = self.home / "simple_auth_manager_passwords.json"
        if not passwords.exists():
            passwords.write_text(json.dumps({ADMIN_USER: secrets.token_urlsafe(12)}))
            passwords.chmod(0o600)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def admin_password(self) -> str:
        data = json.loads((self.home / "simple_auth_manager_passwords.json").read_text())
        return str(data[ADMIN_USER])

    def env(self) -> dict[str, str]:
        """The full environment of every Airflow process and CLI call of this home."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|acdflow)\..*",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.home / "simple_auth_manager_passwords.json"
                ),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(self.metadata_conninfo),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": (self.home / "jwt_secret").read_text(),
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        if self.executor == "CeleryExecutor":
            env.update(self._celery_env())
        env.update(self.extra_env)
        return env

    def _celery_env(self) -> dict[str, str]:
        assert self.broker_url is not None  # checked in __post_init__
        return {
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            # Task states in the metadata database (Celery's SQLAlchemy backend), as Airflow
            # recommends: the broker only carries the queue.
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url(self.metadata_conninfo),
            # Each worker takes one task per free process: with more, a worker holds tasks back
            # behind its long ones (a report's wait, a large extract) while another worker idles.
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        }

    def worker_env(self, worker: CeleryWorker) -> dict[str, str]:
        """The environment of one Celery worker's processes (and so of the tasks it runs)."""
        return {
            **self.env(),
            WORKER_NAME_ENV: worker.name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        }

    # -- commands ------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` against this home."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AirflowStackError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def migrate(self) -> None:
        self.cli("db", "migrate", timeout=600)

    def import_pools(self, pools: Iterable[Mapping[str, Any]]) -> None:
        """Create or update pools (``airflow pools import`` takes the ``acdflow pools`` JSON)."""
        path = self.home / "pools.json"
        path.write_text(json.dumps({p["name"]: p for p in pools}, indent=2))
        self.cli("pools", "import", str(path))

    def set_paused(self, dag_ids: Iterable[str], *, paused: bool, timeout: float = 300) -> None:
        """Pause or unpause DAGs once the DAG processor has registered every one of them (one CLI
        call for all: each call starts an Airflow process)."""
        wanted = sorted(set(dag_ids))
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_exited()
            known = {row[0] for row in self.query("SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", wanted)}
            if known == set(wanted):
                break
            if time.monotonic() > deadline:
                missing = sorted(set(wanted) - known)
                raise AirflowStackError(f"not registered within {timeout:.0f} s: {missing}")
            time.sleep(2)
        pattern = "^(" + "|".join(re.escape(d) for d in wanted) + ")$"
        self.cli("dags", "pause" if paused else "unpause", "--treat-dag-id-as-regex", "-y", pattern)
        rows = self.query("SELECT dag_id FROM dag WHERE dag_id = ANY(%s) AND is_paused = %s", wanted, paused)
        if len(rows) != len(wanted):
            missed = sorted(set(wanted) - {row[0] for row in rows})
            raise AirflowStackError(f"still {'un' if paused else ''}paused: {missed}")

    # -- processes -----------------------------------------------------------------------------

    def start(self, components: Iterable[str] = COMPONENTS, *, timeout: float = 180) -> LocalAirflow:
        """Start ``components`` and, with the CeleryExecutor, every worker of ``workers``."""
        _exit_cleanly_on_sigterm()
        logs = self.home / "process-logs"
        logs.mkdir(exist_ok=True)
        for name in components:
            command = ["airflow", name]
            self._spawn(name, command, self.env())
        for worker in self.workers:
            command = [
                "airflow",
                "celery",
                "worker",
                "--celery-hostname",
                worker.name,
                "--queues",
                ",".join(worker.queues),
                "--concurrency",
                str(worker.concurrency),
                # The workers share this machine's log folder, from which the API server reads
                # the task logs; a log server each would also need a port each.
                "--skip-serve-logs",
            ]
            self._spawn(worker.component, command, self.worker_env(worker))
        if "api-server" in self._procs:
            self.wait_healthy(timeout)
        return self

    def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        log = (self.home / "process-logs" / f"{name}.log").open("ab")
        self._logs.append(log)
        self._procs[name] = subprocess.Popen(
            [sys.executable, "-m", *command],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() reaches the workers each component forks
        )

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                health = f"{self.api_url}/api/v2/monitor/health"  # always http://127.0.0.1
                with urllib.request.urlopen(health, timeout=5) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(1)
        raise AirflowStackError(f"the API server on {self.api_url} did not become healthy: {last_error}")

    def _raise_if_exited(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                tail = self.log_tail(name)
                raise AirflowStackError(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def log_tail(self, component: str, chars: int = 4000) -> str:
        path = self.home / "process-logs" / f"{component}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, timeout: float = 30) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> LocalAirflow:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- metadata reads ------------------------------------------------------------------------

    def query(self, text: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read Airflow's metadata database (for waiting on runs; Airflow owns every write)."""
        with psycopg.connect(self.metadata_conninfo, autocommit=True) as conn:
            return conn.execute(text, params).fetchall()

    def run_states(self, dag_id: str) -> dict[str, int]:
        rows = self.query("SELECT state, count(*) FROM dag_run WHERE dag_id = %s GROUP BY state", dag_id)
        return {str(state): int(count) for state, count in rows}

    def wait_for_runs(
        self,
        dag_id: str,
        *,
        count: int,
        timeout: float,
        since: Any = None,
        poll: float = 3,
    ) -> dict[str, int]:
        """Wait until ``count`` runs of ``dag_id`` (ended after ``since``, if given) are finished;
        raise if any of them failed or the time runs out."""
        deadline = time.monotonic() + timeout
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            self._raise_if_exited()
            if since is None:
                states = self.run_states(dag_id)
            else:
                rows = self.query(
                    "SELECT state, count(*) FROM dag_run WHERE dag_id = %s AND end_date >= %s GROUP BY state",
                    dag_id,
                    since,
                )
                states = {str(state): int(n) for state, n in rows}
            if states.get("failed"):
                raise AirflowStackError(f"{dag_id}: runs failed: {states}")
            if states.get("success", 0) >= count:
                return states
            time.sleep(poll)
        raise AirflowStackError(
            f"{dag_id}: timed out after {timeout:.0f} s waiting for {count} runs: {states}"
        )
