"""``acdflow-dev demo run`` (``make demo``) and ``acdflow-dev demo airflow`` (``make airflow``).

The demo needs no configuration: it starts the embedded PostgreSQL and the 8x8 simulator, writes a
sample integration pointing at the simulator, runs the integration's real DAGs (``dag.test()``, in
this process) for the last two hours of 15-minute intervals plus one live-status poll, and prints
what landed in the warehouse. ``demo airflow`` serves the same integration in ``airflow standalone``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from acdflow_dev import REPO_ROOT
from acdflow_dev.embedded import free_port
from acdflow_dev.local.sample import DEMO_ROOT, FIFTEEN, NAME, SampleStack, floor_interval

Printer = Callable[[str], None]


def register(groups: Any) -> None:
    demo = groups.add_parser("demo", help="run acdflow end to end against the local 8x8 simulator")
    commands = demo.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    run = commands.add_parser(
        "run",
        help="import the last hours of a simulated tenant and print a report (make demo)",
        description="Start PostgreSQL and the simulator, run the sample integration's DAGs, print a report.",
    )
    run.add_argument("--hours", type=int, default=2, help="hours of 15-minute intervals to import [2]")
    run.add_argument("--root", type=Path, default=DEMO_ROOT, help=f"working directory [{DEMO_ROOT}]")
    run.set_defaults(func=_run)
    serve = commands.add_parser(
        "airflow",
        help="serve the sample integration in `airflow standalone` (make airflow)",
        description="Start PostgreSQL, the simulator and `airflow standalone` with the sample integration.",
    )
    serve.add_argument("--root", type=Path, default=DEMO_ROOT, help=f"working directory [{DEMO_ROOT}]")
    serve.add_argument("--port", type=int, default=8080, help="port of the Airflow UI [8080]")
    serve.set_defaults(func=_serve)


def _airflow_env(home: Path, stack: SampleStack) -> dict[str, str]:
    # Airflow refuses a SQLite URL with a relative path, and --root may well be relative.
    home = home.resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|acdflow)\..*",
        "ACDFLOW_INTEGRATIONS": str(stack.config_path),
    }


# --- make demo -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunLine:
    dag: str
    interval: datetime
    state: str
    seconds: float


def _run(args: argparse.Namespace) -> int:
    return run_demo(args.root, hours=args.hours)


def run_demo(root: Path, *, hours: int = 2, out: Printer = print) -> int:
    started = time.monotonic()

    def step(text: str) -> None:
        out(f"[{time.monotonic() - started:6.1f} s] {text}")

    step("starting the embedded PostgreSQL and the 8x8 simulator")
    with SampleStack(root=root, hours=hours) as stack:
        home = root / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        os.environ.update(_airflow_env(home, stack))
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
        os.environ.update(stack.env())
        step(f"simulator on {stack.sim_url}; warehouse {stack.warehouse_uri}")
        step(f"sample integration '{NAME}' written to {stack.config_path}")
        step("preparing Airflow's metadata database (airflow db migrate)")
        migrated = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if migrated.returncode != 0:
            out(migrated.stdout[-2000:] + migrated.stderr[-2000:])
            return 1
        lines = _run_dags(stack, step)
        failed = [line for line in lines if line.state != "success"]
        report = _report(stack, lines)
        out("")
        out(report)
        chart = root / "acdflow-demo.png"
        _chart(stack, chart)
        step(f"chart of volume and call AHT per interval written to {chart}")
        step("done" if not failed else f"{len(failed)} run(s) did not succeed")
        return 1 if failed else 0


def _run_dags(stack: SampleStack, step: Printer) -> list[RunLine]:
    from acdflow import factory

    spec, warehouse = stack.spec()
    built = {kind.name: factory.build_dag(spec, warehouse, kind) for kind in factory.KINDS}
    dags = (built["interactions"], built["agent_status"])
    lines: list[RunLine] = []
    count = int((stack.end - stack.start_date) / FIFTEEN)
    for i in range(count):
        start = stack.start_date + i * FIFTEEN
        for dag in dags:
            began = time.monotonic()
            dag_run = dag.test(logical_date=start + FIFTEEN)
            line = RunLine(dag.dag_id, start, str(dag_run.state), time.monotonic() - began)
            lines.append(line)
            step(
                f"{i + 1:>2}/{count} {dag.dag_id:<22} {start:%H:%M}-{start + FIFTEEN:%H:%M} UTC "
                f"{line.state} in {line.seconds:.1f} s"
            )
    # A live-status run of an interval whose polling window has passed polls exactly once.
    live = built["live_status"]
    live_end = floor_interval(datetime.now(UTC)) - 2 * FIFTEEN
    began = time.monotonic()
    dag_run = live.test(logical_date=live_end)
    lines.append(RunLine(live.dag_id, live_end - FIFTEEN, str(dag_run.state), time.monotonic() - began))
    step(f"{live.dag_id}: one poll of 8x8's realtime API, {dag_run.state} in {lines[-1].seconds:.1f} s")
    return lines


def _query(stack: SampleStack, text: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.warehouse_uri) as conn:
        composed = sql.SQL(text).format(schema=sql.Identifier("acd"))
        return conn.execute(composed, params).fetchall()


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    cells = [headers, *[tuple("" if v is None else str(v) for v in row) for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  " + "  ".join("-" * w for w in widths))
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(out)


def _report(stack: SampleStack, lines: list[RunLine]) -> str:
    window = (stack.start_date, stack.end)
    parts = [
        f"acdflow demo report: integration '{NAME}', {window[0]:%Y-%m-%d %H:%M}-{window[1]:%H:%M} UTC",
        f"runs: {sum(line.state == 'success' for line in lines)}/{len(lines)} succeeded",
        "",
        "Interactions per channel and queue (queue time in the window):",
        _table(
            ("channel", "queue", "interactions", "handled"),
            _query(
                stack,
                "SELECT channel, queue_name, count(*), count(*) FILTER (WHERE handled)"
                " FROM {schema}.interactions WHERE integration = %s AND queue_time >= %s AND queue_time < %s"
                " GROUP BY 1, 2 ORDER BY 1, 2",
                NAME,
                *window,
            ),
        ),
        "",
        "Average handle time of calls per interval (all queues):",
        _table(
            ("interval (UTC)", "handled calls", "AHT (s)"),
            [
                (f"{start:%H:%M}", n, f"{aht:.3f}")
                for start, n, aht in _query(
                    stack,
                    "SELECT interval_start, sum(handled_count),"
                    " sum(handling_ms_sum)::numeric / sum(handled_count) / 1000"
                    " FROM {schema}.interval_aht WHERE integration = %s AND channel = 'call'"
                    " AND interval_start >= %s AND interval_start < %s GROUP BY 1 ORDER BY 1",
                    NAME,
                    *window,
                )
            ],
        ),
        "",
        "Agent statuses now (live):",
        _table(
            ("status", "agents"),
            _query(
                stack,
                "SELECT status_name, count(*) FROM {schema}.agent_status_live WHERE integration = %s"
                " GROUP BY 1 ORDER BY 2 DESC, 1",
                NAME,
            ),
        ),
        "",
        "Time-drift checks on agent-status history (Great Expectations):",
        _table(
            ("check", "intervals passed", "failed"),
            _query(
                stack,
                "SELECT check_name, count(*) FILTER (WHERE passed), count(*) FILTER (WHERE NOT passed)"
                " FROM {schema}.dq_results WHERE integration = %s GROUP BY 1 ORDER BY 1",
                NAME,
            ),
        ),
        "",
        "8x8 API requests made, by step (from acd.load_runs):",
        _table(
            ("dag", "step", "requests"),
            _query(
                stack,
                "SELECT dag_id, step, sum(api_requests) FROM {schema}.load_runs WHERE integration = %s"
                " AND api_requests > 0 GROUP BY 1, 2 ORDER BY 1, 2",
                NAME,
            ),
        ),
    ]
    total = _query(
        stack, "SELECT coalesce(sum(api_requests), 0) FROM {schema}.load_runs WHERE integration = %s", NAME
    )[0][0]
    served = len(stack.sim.request_log())
    parts += ["", f"API requests: {total} counted by acdflow; {served} served by the simulator"]
    rejected = _query(
        stack, "SELECT reason, count(*) FROM {schema}.rejected_rows WHERE integration = %s GROUP BY 1", NAME
    )
    if rejected:
        parts += ["", "Rows quarantined in acd.rejected_rows:", _table(("reason", "rows"), rejected)]
    return "\n".join(parts)


def _chart(stack: SampleStack, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = (stack.start_date, stack.end)
    volume = _query(
        stack,
        "SELECT interval_start, channel, count(*) FROM {schema}.interactions WHERE integration = %s"
        " AND interval_start >= %s AND interval_start < %s GROUP BY 1, 2 ORDER BY 1, 2",
        NAME,
        *window,
    )
    aht = dict(
        _query(
            stack,
            "SELECT interval_start, sum(handling_ms_sum)::float / sum(handled_count) / 1000"
            " FROM {schema}.interval_aht WHERE integration = %s AND channel = 'call'"
            " AND interval_start >= %s AND interval_start < %s GROUP BY 1 ORDER BY 1",
            NAME,
            *window,
        )
    )
    slots = [window[0] + i * FIFTEEN for i in range(int((window[1] - window[0]) / FIFTEEN))]
    labels = [f"{s:%H:%M}" for s in slots]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bottom = [0] * len(slots)
    for channel in ("call", "chat", "email"):
        counts = {s: n for s, c, n in volume if c == channel}
        heights = [counts.get(s, 0) for s in slots]
        ax.bar(labels, heights, bottom=bottom, label=channel)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("interactions per 15 minutes")
    ax.set_xlabel("interval start (UTC)")
    line_ax = ax.twinx()
    line_ax.plot(
        labels, [float(aht.get(s, "nan")) for s in slots], color="black", marker="o", label="call AHT"
    )
    line_ax.set_ylabel("call AHT (s)")
    ax.legend(loc="upper left")
    line_ax.legend(loc="upper right")
    ax.set_title(f"acdflow demo: integration '{NAME}', volume and call AHT per interval")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- make airflow --------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    return serve_airflow(args.root, port=args.port)


def serve_airflow(root: Path, *, port: int = 8080, out: Printer = print) -> int:
    """Run ``airflow standalone`` with the sample integration until interrupted (Ctrl-C or SIGTERM)."""
    root = root.resolve()

    def interrupted(signum: int, frame: Any) -> None:
        # A second SIGTERM must not cut the cleanup short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    # Without this a SIGTERM ends the process at once: no finally block runs, so standalone (in a
    # session of its own) and the embedded PostgreSQL would be left running.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupted) if in_main_thread else None
    try:
        return _serve_airflow(root, port, out)
    except KeyboardInterrupt:
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _serve_airflow(root: Path, port: int, out: Printer) -> int:
    with SampleStack(root=root) as stack:
        home = root / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **_airflow_env(home, stack),
            # standalone starts its components as `airflow ...` found on PATH, which lacks the
            # virtualenv's bin directory when this runs as `.venv/bin/acdflow` or `python -m`.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            # Runs visible right away, the connection form's Test button usable, tasks quiet.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            # The log servers' default ports (8793, 8794) are often taken by another Airflow on the
            # same machine: the bind then fails and the UI would ask that other Airflow for logs.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        }

        def airflow(*cli: str) -> None:
            done = subprocess.run(
                [sys.executable, "-m", "airflow", *cli], env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"`airflow {' '.join(cli)}` failed with exit code {done.returncode}:\n"
                    f"{done.stdout[-2000:]}{done.stderr[-3000:]}"
                )

        out("preparing Airflow's metadata database, pools and connections ...")
        airflow("db", "migrate")
        spec, _ = stack.spec()
        pools = home / "pools.json"
        pools.write_text(json.dumps({p["name"]: p for p in spec.pools()}))
        airflow("pools", "import", str(pools))
        connections = home / "connections.json"
        connections.write_text(json.dumps(stack.connections()))
        connections.chmod(0o600)
        # In the metadata database rather than AIRFLOW_CONN_*, so they show in Admin > Connections.
        try:
            airflow("connections", "import", "--overwrite", str(connections))
        finally:
            connections.unlink()
        url_file = root / "airflow.url"
        log = (home / "standalone.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_ui(port, proc, log=home / "standalone.log")
            password_file = home / "simple_auth_manager_passwords.json.generated"
            password = json.loads(password_file.read_text()).get("admin", "?")
            out(f"Airflow is up: http://127.0.0.1:{port}  login: admin / {password}")
            out(f"DAGs: {NAME}__interactions, {NAME}__agent_status, {NAME}__live_status")
            out(f"logs: {home / 'standalone.log'}; press Ctrl-C to stop")
            url_file.write_text(f"http://127.0.0.1:{port}\n")
            while proc.poll() is None:
                time.sleep(1)
            out(f"airflow standalone exited with {proc.returncode}; see {home / 'standalone.log'}")
            return proc.returncode or 1
        finally:
            url_file.unlink(missing_ok=True)
            _stop_standalone(proc)
            log.close()


def _stop_standalone(proc: subprocess.Popen[bytes]) -> None:
    """Stop standalone and the components it started (they share its process group)."""
    # SIGINT, as Ctrl-C in a terminal would: standalone handles only that one by stopping its
    # components and waiting for them; SIGTERM would end standalone alone, at once.
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    # Components that outlive standalone itself would keep the port and the database files busy.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_for_ui(port: int, proc: subprocess.Popen[bytes], *, log: Path, timeout: float = 300) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited with {proc.returncode}; see {log}")
        try:
            url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    raise RuntimeError(f"Airflow did not answer on port {port} within {timeout:.0f} s; see {log}")
