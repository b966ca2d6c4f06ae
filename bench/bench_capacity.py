"""One tenant under a real scheduler, measured for the capacity model (``make bench``): not a test.

A real Airflow (scheduler, DAG processor, triggerer, API server; LocalExecutor; metadata in the
embedded PostgreSQL), set up as docs/runbook.md says: with the shipped
``config/airflow_local_settings.py`` in its home, so the scheduler imports Great Expectations once
before it forks the workers (``--no-preload`` leaves it out: every task then imports it itself).
It imports ``--intervals`` intervals of one tenant (100,000 interactions and 300 agents a day,
business hours of the day before yesterday) through the interactions and agent-status DAGs.
Measured:

* every task's wall time (start to end, from the metadata database), and its process's CPU
  seconds and peak RSS, sampled from ``/proc`` (Airflow names each task process
  ``airflow worker -- <task instance id>``) every 0.2 s;
* ``check_time_drift``'s median wall time against the median of the other steps of the same
  agent-status runs. Target: at most 3 times;
* 8x8 requests per run (the simulator's request log), metadata-database rows per run (row counts
  of Airflow's tables before and after) and warehouse rows and bytes per interval.

docs/capacity.md derives the fleet figures from these. Results: ``.acdflow/bench/capacity.json``;
exits 1 when the drift-check target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from acdflow_dev.connections import eightbyeight_conn, local_airflow_env
from acdflow_dev.embedded import EmbeddedPostgres
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.sim import SimConfig, Simulator

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "capacity"
NAME = "bench_fleet"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
TARGET = 3.0
DRIFT = "check_time_drift"
KINDS = ("interactions", "agent_status")
TASK_TITLE = re.compile(
    rb"^airflow worker -- ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\x00*$"
)
TICKS = os.sysconf("SC_CLK_TCK")
# Airflow's tables that grow with every run (the rest hold configuration).
METADATA_TABLES = (
    "dag_run",
    "task_instance",
    "task_instance_history",
    "xcom",
    "log",
    "job",
    "rendered_task_instance_fields",
    "trigger",
    "asset_event",
    "deadline",
)
PUBLISHED = (
    "interactions",
    "interval_aht",
    "agent_status_history",
    "load_runs",
    "rejected_rows",
    "dq_results",
)


class TaskSampler(threading.Thread):
    """CPU seconds and peak RSS of every task process, by task instance id, read from /proc."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.seen: dict[str, tuple[float, int]] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    self._sample(entry.name)
            self._stop_event.wait(self.interval)

    def _sample(self, pid: str) -> None:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
            match = TASK_TITLE.match(title)
            if match is None:
                return
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(stat[11]) + int(stat[12])) / TICKS  # utime + stime
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            return  # the process ended between two reads
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        ti_id = match.group(1).decode()
        previous = self.seen.get(ti_id, (0.0, 0))
        self.seen[ti_id] = (max(previous[0], cpu), max(previous[1], int(hwm.group(1)) if hwm else 0))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def _row_counts(conninfo: str, schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with psycopg.connect(conninfo) as conn:
        for table in tables:
            exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()
            if exists and exists[0] is not None:
                row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                counts[table] = int(row[0]) if row else 0
    return counts


def _warehouse_bytes(conninfo: str, tables: tuple[str, ...]) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'acd' AND c.relname = ANY(%s)",
            (list(tables),),
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def _task_figures(
    airflow: LocalAirflow, sampler: TaskSampler
) -> tuple[dict[str, dict[str, Any]], dict[str, list[float]]]:
    rows = airflow.query(
        "SELECT id::text, dag_id, task_id, extract(epoch FROM end_date - start_date) FROM task_instance"
        " WHERE state = 'success'"
    )
    by_task: dict[str, dict[str, list[float]]] = {}
    for ti_id, dag_id, task_id, seconds in rows:
        kind = str(dag_id).rsplit("__", 1)[-1]
        figures = by_task.setdefault(f"{kind}.{task_id}", {"wall": [], "cpu": [], "rss": []})
        figures["wall"].append(float(seconds))
        if ti_id in sampler.seen:
            cpu, hwm_kb = sampler.seen[ti_id]
            figures["cpu"].append(cpu)
            figures["rss"].append(hwm_kb / 1024)
    summary = {
        task: {
            "runs": len(f["wall"]),
            "wall_median_s": round(statistics.median(f["wall"]), 2),
            "cpu_median_s": round(statistics.median(f["cpu"]), 2) if f["cpu"] else None,
            "cpu_sampled": len(f["cpu"]),
            "peak_rss_mb": round(max(f["rss"]), 1) if f["rss"] else None,
        }
        for task, f in sorted(by_task.items())
    }
    return summary, {task: f["wall"] for task, f in by_task.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=12, help="intervals to import [12]")
    parser.add_argument("--scale", type=int, default=100_000, help="interactions per day [100000]")
    parser.add_argument("--agents", type=int, default=300, help="agents [300]")
    parser.add_argument(
        "--no-preload",
        dest="preload",
        action="store_false",
        help="without config/airflow_local_settings.py: every task imports GX itself",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the runs [3600]")
    args = parser.parse_args()

    first = (datetime.now(UTC) - timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
    end = first + args.intervals * timedelta(minutes=15)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    config = WORK / "integrations.yaml"
    config.write_text(
        json.dumps(
            {
                "integrations": [
                    {
                        "name": NAME,
                        "conn_id": "eightbyeight_bench",
                        "start_date": first.isoformat(),
                        "end_date": end.isoformat(),
                        "api_concurrency": 2,
                    }
                ]
            }
        )
    )
    sim = Simulator(
        SimConfig.single(
            tenant_id="benchfleet",
            region="us",
            timezone="America/Chicago",
            scale=args.scale,
            agents=args.agents,
            seed=7,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
    )
    print(f"one tenant under a real scheduler: {args.intervals} intervals from {first:%Y-%m-%d %H:%M} UTC")
    sampler = TaskSampler()
    with EmbeddedPostgres(WORK / "pg") as pg, sim.serve(host="127.0.0.1", port=0) as server:
        bench_conn = eightbyeight_conn(
            server.base_url, CLIENT_ID, CLIENT_SECRET, region="us", timezone="America/Chicago"
        )
        env = local_airflow_env(pg.uri, config, {"eightbyeight_bench": bench_conn})
        metadata = ensure_database(pg.uri, "airflow")
        airflow = LocalAirflow(
            home=WORK / "airflow",
            metadata_conninfo=metadata,
            extra_env=env,
            parallelism=4,
            preload=args.preload,
        )
        airflow.migrate()
        from acdflow.config import load_config

        (spec,) = load_config(config).integrations
        airflow.import_pools(spec.pools())
        with airflow.start():
            before = _row_counts(metadata, "public", METADATA_TABLES)
            sampler.start()
            began = time.monotonic()
            airflow.set_paused([f"{NAME}__{kind}" for kind in KINDS], paused=False)
            for kind in KINDS:
                airflow.wait_for_runs(f"{NAME}__{kind}", count=args.intervals, timeout=args.timeout)
            elapsed = time.monotonic() - began
            sampler.stop()
            after = _row_counts(metadata, "public", METADATA_TABLES)
            tasks, walls = _task_figures(airflow, sampler)
        warehouse_rows = _row_counts(pg.uri, "acd", PUBLISHED)
        warehouse_bytes = _warehouse_bytes(pg.uri, PUBLISHED)
        requests = Counter(
            r.path.rsplit("/", 1)[-1] if "token" not in r.path else "token" for r in sim.request_log()
        )

    runs = args.intervals * len(KINDS)
    drift = tasks[f"agent_status.{DRIFT}"]["wall_median_s"]
    others = statistics.median(
        s
        for name, values in walls.items()
        if name.startswith("agent_status.") and DRIFT not in name
        for s in values
    )
    result: dict[str, Any] = {
        "intervals": args.intervals,
        "scale": args.scale,
        "agents": args.agents,
        "preload": args.preload,
        "elapsed_s": round(elapsed, 1),
        "tasks": tasks,
        "drift_median_s": drift,
        "others_median_s": round(others, 2),
        "target_ratio": TARGET,
        "ratio": round(drift / others, 2),
        "metadata_rows_per_run": {t: round((after.get(t, 0) - before.get(t, 0)) / runs, 2) for t in after},
        "warehouse_rows_per_interval": {t: round(n / args.intervals, 1) for t, n in warehouse_rows.items()},
        "warehouse_rows": warehouse_rows,
        "warehouse_bytes": warehouse_bytes,
        "requests_per_interval": {k: round(v / args.intervals, 2) for k, v in sorted(requests.items())},
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "capacity.json").write_text(json.dumps(result, indent=2))
    print(f"  {runs} runs in {elapsed:.0f} s")
    print(f"  {'task':34s} {'runs':>5} {'wall s':>7} {'CPU s':>6} {'peak MB':>8}")
    for name, t in tasks.items():
        cpu = "-" if t["cpu_median_s"] is None else f"{t['cpu_median_s']:.2f}"
        rss = "-" if t["peak_rss_mb"] is None else f"{t['peak_rss_mb']:.0f}"
        print(f"  {name:34s} {t['runs']:5d} {t['wall_median_s']:7.2f} {cpu:>6} {rss:>8}")
    print(f"  metadata rows per run: {result['metadata_rows_per_run']}")
    print(f"  warehouse rows per interval: {result['warehouse_rows_per_interval']}")
    print(f"  8x8 requests per interval (both DAGs): {result['requests_per_interval']}")
    print(
        f"  {DRIFT} median {drift:.1f} s vs the other agent-status steps {others:.1f} s"
        f" -> {result['ratio']:.2f}x (target <= {TARGET:g}x)\nwritten to {OUT_DIR / 'capacity.json'}"
    )
    return 0 if result["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
