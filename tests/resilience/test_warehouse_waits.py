"""Every warehouse wait ends: against a PostgreSQL of this module's own (frozen with SIGSTOP, so
other tests' servers are never disturbed), with the timeouts shortened through the Airflow
connection's ``extra`` the way an operator would. The last test freezes the backend of a real
``load`` task in the middle of its transaction, under ``dag.test()``, and follows it through the
failure, the alert and the re-run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from acdflow.warehouse import store
from acdflow.warehouse.connection import connect, open_warehouse
from acdflow_dev.local.webhook import WebhookReceiver as Receiver
from tests.conftest import TMP_ROOT
from tests.e2e.alerting import FIRST, Mailbox, alerting_pipeline, mailbox, receiver
from tests.e2e.harness import FIFTEEN, Pipeline, compare_with_truth

__all__ = ["mailbox", "receiver"]  # fixtures, used by name

SCHEMA = "resilience"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    from acdflow_dev.embedded import EmbeddedPostgres

    # Not under pytest's temporary root: another pytest session starting meanwhile makes that
    # private again, and pg_ctl, running as the server's own user, could then not stop the server.
    with EmbeddedPostgres(TMP_ROOT / f"pg-frozen-{os.getpid()}") as server:
        yield server.uri


def _postmaster_pid(uri: str) -> int:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()
    assert row is not None
    return int((Path(row[0]) / "postmaster.pid").read_text().split()[0])


def _airflow_conn(monkeypatch: pytest.MonkeyPatch, uri: str, **extra: Any) -> str:
    parts = conninfo_to_dict(uri)
    conn_id = f"frozen_{uuid.uuid4().hex[:8]}"
    value = {
        "conn_type": "postgres",
        "host": parts["host"],
        "port": int(str(parts["port"])),
        "login": parts.get("user", "postgres"),
        "schema": parts.get("dbname", "postgres"),
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    return conn_id


def _alive(uri: str, pid: int) -> bool:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is not None


def test_a_long_statement_ends_at_the_statement_timeout(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, statement_timeout="1s")
    with open_warehouse(conn_id) as conn:
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 4


def test_a_lock_wait_ends_at_the_lock_timeout(own_postgres: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, options="-c lock_timeout=1s")
    table = sql.Identifier(f"locked_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(own_postgres, autocommit=True) as holder:
        holder.execute(sql.SQL("CREATE TABLE {} (id int)").format(table))
        with holder.transaction():
            holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
            with open_warehouse(conn_id) as conn:
                started = time.monotonic()
                with pytest.raises(errors.LockNotAvailable):
                    conn.execute(sql.SQL("INSERT INTO {} VALUES (1)").format(table))
                assert time.monotonic() - started < 4
        holder.execute(sql.SQL("DROP TABLE {}").format(table))


def test_connecting_to_a_frozen_server_ends_at_the_connect_timeout(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, connect_timeout=2)
    postmaster = _postmaster_pid(own_postgres)
    os.kill(postmaster, signal.SIGSTOP)
    try:
        # The kernel still accepts the TCP connection; only the startup answer never comes.
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="timeout"):
            open_warehouse(conn_id)
        assert time.monotonic() - started < 6
    finally:
        os.kill(postmaster, signal.SIGCONT)
    with open_warehouse(conn_id) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def extract_within(seconds: float, conn_id: str, *, backends: list[int], **landing: Any) -> None:
    """``land_pages`` in a session of ``conn_id``, under Airflow's execution_timeout mechanism."""
    from airflow.sdk.execution_time.timeout import timeout

    with timeout(seconds), connect(conn_id, SCHEMA) as conn:  # type: ignore[no-untyped-call]
        backends.append(conn.info.backend_pid)
        store.land_pages(conn, SCHEMA, **landing)


def test_a_backend_frozen_mid_extract_fails_the_step_in_time_and_a_retry_lands_everything(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP of the backend serving the step: its kernel still acknowledges every packet, so no
    keepalive or server timeout can notice; the task's execution_timeout (Airflow's SIGALRM timer,
    used here as Airflow uses it) must still interrupt the wait."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    conn_id = _airflow_conn(monkeypatch, own_postgres, statement_timeout="5s", lock_timeout="1s")
    pages = [store.LandingPage([{"n": p * 3 + i} for i in range(3)]) for p in range(4)]
    key: dict[str, Any] = {"integration": "acme", "report_kind": "x", "report_id": 7}
    frozen: list[int] = []

    with connect(conn_id, SCHEMA):
        pass  # migrations run here, outside the step's time budget
    backends: list[int] = []

    def freezing_pages() -> Iterator[store.LandingPage]:
        yield pages[0]
        os.kill(backends[0], signal.SIGSTOP)  # the backend stops between two pages
        frozen.append(backends[0])
        yield from pages[1:]

    started = time.monotonic()
    try:
        with pytest.raises(AirflowTaskTimeout):
            extract_within(3, conn_id, pages=freezing_pages(), backends=backends, **key)
        elapsed = time.monotonic() - started
        assert frozen == backends
        assert 2.9 <= elapsed < 5, elapsed
        # While the old backend is still frozen, Airflow's retry lands the report without waiting.
        with connect(conn_id, SCHEMA) as other:
            landed = store.land_pages(other, SCHEMA, pages=iter(pages), **key)
            assert (landed.pages, landed.rows) == (4, 12)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    backend = backends[0]

    # The abandoned backend ends once it runs again (its client is gone) and commits nothing more;
    # a further retry completes too.
    deadline = time.monotonic() + 15
    while _alive(own_postgres, backend) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(own_postgres, backend)
    with connect(conn_id, SCHEMA) as conn:
        landed = store.land_pages(conn, SCHEMA, pages=iter(pages), **key)
        assert (landed.pages, landed.rows) == (4, 12)
        rows = store.iter_landed_rows(conn, SCHEMA, integration="acme", report_id=7)
        assert [r["n"] for r in rows] == list(range(12))


# Shortened for the test: the factory's load bound is 30 min (EXECUTION_TIMEOUTS); the server
# settings go through the warehouse connection's extra, as the runbook documents.
LOAD_TIMEOUT = timedelta(seconds=15)
STATEMENT_TIMEOUT_S = 8
LOCK_TIMEOUT_S = 4
PUBLISHED = ("interactions", "interval_aht", "rejected_rows")


class _LoadFreezer:
    """Freezes (SIGSTOP) the first session that waits for ``holder``'s table lock, then lets the
    lock go: the frozen session is caught at a known statement and never runs again on its own."""

    def __init__(self, uri: str, schema: str, holder: psycopg.Connection[Any]) -> None:
        self.uri = uri
        self.schema = schema
        self.holder = holder
        self.holder_pid = holder.info.backend_pid
        self.frozen: list[int] = []
        self.query = ""
        self.interactions_bytes = -1
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        try:
            with psycopg.connect(self.uri, autocommit=True) as watch:
                while not self._stop.is_set():
                    row = watch.execute(
                        "SELECT pid, query FROM pg_stat_activity"
                        " WHERE backend_type = 'client backend' AND %s = ANY (pg_blocking_pids(pid))",
                        (self.holder_pid,),
                    ).fetchone()
                    if row is None:
                        time.sleep(0.02)
                        continue
                    os.kill(int(row[0]), signal.SIGSTOP)
                    self.frozen.append(int(row[0]))
                    self.query = str(row[1])
                    # Rows the frozen transaction wrote are invisible, but they take heap space.
                    size = watch.execute(
                        "SELECT pg_relation_size(%s::regclass)", (f"{self.schema}.interactions",)
                    ).fetchone()
                    self.interactions_bytes = int(size[0]) if size else -1
                    self.holder.rollback()
                    return
        except BaseException as exc:
            self.error = exc


def _stopped(pid: int) -> bool:
    # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, the state follows its ')'.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def _with_warehouse_extra(pipe: Pipeline, **extra: Any) -> None:
    base_env = pipe.env

    def env() -> dict[str, str]:
        values = base_env()
        key = f"AIRFLOW_CONN_{pipe.warehouse_conn_id.upper()}"
        values[key] = json.dumps({**json.loads(values[key]), "extra": extra})
        return values

    pipe.env = env  # type: ignore[method-assign]


def _published(pipe: Pipeline) -> dict[str, int]:
    counts = {}
    for table in PUBLISHED:
        (row,) = pipe.query(f"SELECT count(*) AS n FROM {{schema}}.{table} WHERE integration = %s", pipe.name)
        counts[table] = int(row["n"])
    return counts


@pytest.mark.usefixtures("airflow_db")
def test_a_load_frozen_mid_transaction_fails_in_time_alerts_and_its_rerun_completes(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    own_postgres: str,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backend serving ``load`` is frozen after the upsert into ``interactions`` and while it
    executes the insert into ``rejected_rows``, inside the one publishing transaction. Its kernel
    still acknowledges every packet and its own ``statement_timeout`` cannot fire while it is
    stopped, so only the task's ``execution_timeout`` ends the try. The retries then wait for the
    row locks the frozen transaction holds and end at ``lock_timeout``; the last failure alerts.
    Resumed, the frozen backend commits nothing; a re-run of the DAG run completes and equals
    the simulator's ground truth."""
    from acdflow import factory

    box, smtp_port = mailbox
    monkeypatch.setitem(factory.EXECUTION_TIMEOUTS, "load", LOAD_TIMEOUT)
    schema = f"frozen_{uuid.uuid4().hex[:8]}"
    pipe = alerting_pipeline(
        request,
        tmp_path,
        own_postgres,
        schema,
        receiver,
        smtp_port,
        retries=2,
        retry_delay_seconds=1,
        max_retry_delay_seconds=2,
    )
    _with_warehouse_extra(
        pipe, statement_timeout=f"{STATEMENT_TIMEOUT_S}s", lock_timeout=f"{LOCK_TIMEOUT_S}s"
    )
    with store.connect(own_postgres, schema):
        pass  # migrated before the lock below is taken

    # The first statement of the run that writes rejected_rows is load's last one: the load waits
    # there, inside its transaction, until the freezer has stopped it.
    holder = psycopg.connect(own_postgres)
    request.addfinalizer(holder.close)
    holder.execute(sql.SQL("LOCK TABLE {}.rejected_rows IN SHARE MODE").format(sql.Identifier(schema)))
    freezer = _LoadFreezer(own_postgres, schema, holder)
    freezer.start()
    try:
        dag_run = pipe.run(FIRST, expect="failed")
        freezer.stop()
        assert freezer.error is None, freezer.error
        (frozen,) = freezer.frozen
        assert "rejected_rows" in freezer.query, freezer.query
        assert _stopped(frozen)
        assert freezer.interactions_bytes > 0, "the load had not written interactions when frozen"
        assert _published(pipe) == dict.fromkeys(PUBLISHED, 0)

        tries = pipe.query(
            "SELECT try_number, status, error, duration_ms FROM {schema}.load_runs"
            " WHERE step = 'load' ORDER BY id"
        )
        assert [(t["try_number"], t["status"]) for t in tries] == [
            (1, "failed"),
            (2, "failed"),
            (3, "failed"),
        ]
        first, *retried = tries
        assert first["error"].startswith("AirflowTaskTimeout"), first["error"]
        limit_ms = LOAD_TIMEOUT.total_seconds() * 1000
        assert limit_ms - 2000 <= first["duration_ms"] < limit_ms + 5000, first["duration_ms"]
        for again in retried:
            assert again["error"].startswith("LockNotAvailable"), again["error"]
            assert again["duration_ms"] < (LOCK_TIMEOUT_S + 5) * 1000, again["duration_ms"]

        (alert,) = receiver.received()
        assert alert["dag_id"] == "alerted__interactions"
        assert alert["task_id"] == "load"
        assert alert["run_id"] == dag_run.run_id
        assert alert["data_interval_start"] == FIRST.isoformat()
        assert alert["try_number"] == 3
        assert alert["error"].startswith("LockNotAvailable"), alert["error"]
        (mail,) = box.messages
        assert "load" in mail["Subject"]
    finally:
        freezer.stop()
        for pid in freezer.frozen:
            os.kill(pid, signal.SIGCONT)

    # Running again, the frozen backend finds its client gone and ends; its transaction with it.
    deadline = time.monotonic() + 30
    while _alive(own_postgres, frozen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(own_postgres, frozen)
    assert _published(pipe) == dict.fromkeys(PUBLISHED, 0)

    pipe.run(FIRST)
    compare_with_truth(pipe, FIRST, FIRST + FIFTEEN)
    (last,) = pipe.query("SELECT status FROM {schema}.load_runs WHERE step = 'load' ORDER BY id DESC LIMIT 1")
    assert last["status"] == "success"
    # The run that completed sends nothing.
    assert len(receiver.received()) == 1
    assert len(box.messages) == 1
