"""Importing history under a real scheduler (``make bench-history``): not a test, numbers for the docs.

One integration with a ``history_start_date`` imports ``--days`` whole days (default 30) of a
simulated tenant (``--scale`` interactions a day, default 100,000; ``--agents``, default 300)
through its ``<name>__history`` DAG under a real Airflow (scheduler, DAG processor, triggerer, API
server; LocalExecutor; metadata in the embedded PostgreSQL), set up as docs/runbook.md says: with
the shipped ``config/airflow_local_settings.py`` in its home, so task processes start with the task
libraries already imported (``--no-preload`` leaves it out). The days end three days before today,
so all of them are final.

In the same run, first, the floor: the same reports (the same request digits, metrics, page size)
created and paged through with ``requests`` and ``json.loads``, one after the other, nothing
else. The simulator renders a row's JSON at about 12,000 rows a second and serves it again from its
cache at over 100,000, so before anything is timed every report is read once to fill that cache,
sized for all the days (about 10 GB of rows at the defaults; the process peaks near 18 GB),
and the floor and the import then measure the client, not the simulator. That first read is
printed too, as the cold floor.
``--cold`` skips it and keeps the simulator's default cache, so both read the simulator cold (the
measurement before the cache was sized for the bench).

Printed next to their targets: the history import's wall time over the floor's (at most 2x), a year
of such a tenant projected from the days imported (under 2 hours) and the peak memory of any task
process while the history DAG ran (under 300 MB; sampled every 0.2 s: resident set, and the
proportional set that counts pages shared with the forking worker once).

    .venv/bin/python bench/bench_history.py [--days 30] [--scale 100000] [--agents 300]

Results: ``.acdflow/bench/history.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from bench_sim import Reader  # type: ignore[import-not-found, unused-ignore]

from acdflow.config import load_config
from acdflow.eightbyeight.client import MAX_PAGE_SIZE
from acdflow.pipeline import AGENT_STATUS_REPORT, INTERACTION_REPORT
from acdflow.pipeline.agent_status import METRICS as STATUS_METRICS
from acdflow.pipeline.interactions import METRICS as INTERACTION_METRICS
from acdflow.timewindow import request_window
from acdflow_dev.connections import eightbyeight_conn, local_airflow_env
from acdflow_dev.embedded import EmbeddedPostgres
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.config import TenantConfig

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "history"
NAME = "bench_hist"
CONN_ID = "eightbyeight_bench_hist"
# The credentials bench_sim.Reader logs in with.
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
TENANT = "benchhist01"
TIMEZONE = "America/Chicago"
DAY = timedelta(days=1)
MB = 1024 * 1024


class RawReader(Reader):  # type: ignore[misc, unused-ignore]
    """The floor: 8x8's report API with nothing on top, ``requests`` and ``json.loads``."""

    def read(self, report_type: str, start: datetime, end: datetime, metrics: tuple[str, ...]) -> int:
        sent = request_window(start, end, TIMEZONE, correct_quirk=True)
        body = {
            "type": report_type,
            "title": "bench",
            "timezone": sent.timezone,
            "dateRange": {"start": sent.start, "end": sent.end},
            "metrics": list(metrics),
            "includeParticipants": report_type == INTERACTION_REPORT,
        }
        response = self.session.post(f"{self.hist}/detailed-reports", json=body, timeout=600)
        response.raise_for_status()
        url = f"{self.hist}/detailed-reports/{response.json()['id']}/data"
        params = {"size": str(MAX_PAGE_SIZE)}
        rows = 0
        while True:
            page = self.session.get(url, params=params, timeout=600)
            page.raise_for_status()
            rows += len(json.loads(page.content))
            cursor = page.headers.get("Last-Document-Id")
            if cursor is None:
                return rows
            params = {"size": str(MAX_PAGE_SIZE), "lastDocumentId": cursor}


class TaskMemory:
    """Peak resident and proportional set size of Airflow's task processes, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TaskMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = proc.info["cmdline"] or []
                # The task process a LocalExecutor worker forks names itself after the task's id.
                if not cmdline or not cmdline[0].startswith("airflow worker -- "):
                    continue
                try:
                    memory = proc.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.samples += 1
                self.peak_rss = max(self.peak_rss, memory.rss)
                self.peak_pss = max(self.peak_pss, getattr(memory, "pss", 0))


def _floor(base_url: str, days: list[datetime], final_overlap: timedelta) -> dict[str, Any]:
    reader = RawReader(base_url)
    began = time.monotonic()
    rows = {"interactions": 0, "agent_status": 0}
    for day in days:
        rows["interactions"] += reader.read(
            INTERACTION_REPORT, day - final_overlap, day + DAY, INTERACTION_METRICS
        )
        rows["agent_status"] += reader.read(AGENT_STATUS_REPORT, day, day + DAY, STATUS_METRICS)
    return {"seconds": time.monotonic() - began, "rows": rows}


def _history(airflow: LocalAirflow, dag_id: str, days: int, timeout: float) -> dict[str, Any]:
    with TaskMemory() as memory:
        began = time.monotonic()
        airflow.set_paused([dag_id], paused=False)
        airflow.wait_for_runs(dag_id, count=days, timeout=timeout, poll=2)
        seconds = time.monotonic() - began
    return {
        "seconds": seconds,
        "peak_task_rss_mb": memory.peak_rss / MB,
        "peak_task_pss_mb": memory.peak_pss / MB,
        "memory_samples": memory.samples,
    }


def _step_seconds(metadata_conninfo: str, dag_id: str) -> dict[str, dict[str, float]]:
    """Each step's task time over the import, from Airflow's own task records: total, mean, max."""
    import psycopg

    with psycopg.connect(metadata_conninfo) as conn:
        rows = conn.execute(
            "SELECT task_id, count(*), sum(duration), max(duration) FROM task_instance"
            " WHERE dag_id = %s AND state = 'success' GROUP BY task_id",
            (dag_id,),
        ).fetchall()
    return {
        str(task): {
            "runs": int(runs),
            "total_s": float(total),
            "mean_s": float(total) / int(runs),
            "max_s": float(peak),
        }
        for task, runs, total, peak in rows
    }


def _loaded(uri: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(uri) as conn:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM acd.{table}").fetchone()[0])  # type: ignore[index]
            for table in ("interactions", "interval_aht", "agent_status_history", "rejected_rows")
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days of history [30]")
    parser.add_argument("--scale", type=int, default=100_000, help="interactions per day [100000]")
    parser.add_argument("--agents", type=int, default=300, help="agents [300]")
    parser.add_argument("--api-concurrency", type=int, default=2, help="the integration's API slots [2]")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds to wait for the import")
    parser.add_argument(
        "--cold",
        dest="warm",
        action="store_false",
        help="no first read to fill the simulator's cache: the floor and the import render every row",
    )
    parser.add_argument(
        "--no-preload",
        dest="preload",
        action="store_false",
        help="without config/airflow_local_settings.py: every task imports its libraries itself",
    )
    args = parser.parse_args()

    last_end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - 3 * DAY
    first = last_end - args.days * DAY
    days = [first + i * DAY for i in range(args.days)]
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    config = WORK / "integrations.yaml"
    entry = {
        "name": NAME,
        "conn_id": CONN_ID,
        "start_date": first.isoformat(),
        # The 15-minute DAGs stay paused; the end bounds the history DAG at the same day.
        "end_date": last_end.isoformat(),
        "history_start_date": first.date().isoformat(),
        "api_concurrency": args.api_concurrency,
    }
    config.write_text(json.dumps({"warehouse": {"schema": "acd"}, "integrations": [entry]}))
    (spec,) = load_config(config).integrations
    cache: dict[str, Any] = {}
    if args.warm:
        # A day's rows take about 310 MB (interactions) and 75 MB (statuses) at 100,000/300.
        cache["fragment_cache_mb"] = int(args.days * (420 * args.scale / 100_000 + 0.3 * args.agents)) + 512
        # A report holds its day's records (about 130 MB at the defaults) as long as it is kept: at
        # the default day of retention every report of the run would stay in memory. All of them
        # are read within a minute or two of their creation.
        cache["report_retention_hours"] = 1 / 6
    sim = Simulator(
        SimConfig(
            seed=17,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            tenants=(TenantConfig(TENANT, "us", TIMEZONE, scale=args.scale, agents=args.agents),),
            **cache,
        )
    )
    fragments = sim.tenant_state(TENANT).fragments
    print(
        f"history benchmark: {args.days} days from {first:%Y-%m-%d}, {args.scale:,} interactions/day,"
        f" {args.agents} agents, api_concurrency {args.api_concurrency},"
        f" {'with' if args.preload else 'without'} the preloading local settings",
        flush=True,
    )
    with EmbeddedPostgres(WORK / "pg") as pg, sim.serve(host="127.0.0.1", port=0) as server:
        overlap = timedelta(minutes=spec.final_overlap_minutes)
        cold: dict[str, Any] | None = None
        if args.warm:
            cold = _floor(server.base_url, days, overlap)
            cold["cached_mb"] = fragments.size_bytes / MB
            cold["simulator_rss_mb"] = psutil.Process().memory_info().rss / MB
            print(
                f"  cold floor (the simulator renders every row once, into its cache):"
                f" {cold['seconds']:.0f} s; {cold['cached_mb']:,.0f} MB of rows cached,"
                f" {cold['simulator_rss_mb']:,.0f} MB resident",
                flush=True,
            )
        floor = _floor(server.base_url, days, overlap)
        print(
            f"  floor (raw HTTP + json.loads, one report after another): {floor['seconds']:.0f} s", flush=True
        )
        hits, misses = fragments.hits, fragments.misses
        env = local_airflow_env(
            pg.uri,
            config,
            {
                CONN_ID: eightbyeight_conn(
                    server.base_url, CLIENT_ID, CLIENT_SECRET, region="us", timezone=TIMEZONE
                )
            },
        )
        metadata = ensure_database(pg.uri, "airflow")
        airflow = LocalAirflow(
            home=WORK / "airflow",
            metadata_conninfo=metadata,
            extra_env=env,
            preload=args.preload,
        )
        airflow.migrate()
        airflow.import_pools(spec.pools())
        with airflow.start():
            history = _history(airflow, spec.dag_id("history"), args.days, args.timeout)
        steps = _step_seconds(metadata, spec.dag_id("history"))
        history["rows_served_from_cache"] = fragments.hits - hits
        history["rows_rendered"] = fragments.misses - misses
        loaded = _loaded(pg.uri)
    results: dict[str, Any] = {
        "days": args.days,
        "first_day": first.date().isoformat(),
        "scale": args.scale,
        "agents": args.agents,
        "api_concurrency": args.api_concurrency,
        "preload": args.preload,
        "warm": args.warm,
        "cold_floor": cold,
        "floor": floor,
        "history": history,
        "steps": steps,
        "loaded": loaded,
        "ratio": history["seconds"] / floor["seconds"],
        "year_projection_hours": history["seconds"] * 365 / args.days / 3600,
    }
    (OUT_DIR / "history.json").write_text(json.dumps(results, indent=2))
    fetched = sum(floor["rows"].values())
    print(
        f"  history DAG: {history['seconds']:.0f} s for {fetched:,} rows"
        f" ({loaded['interactions']:,} interactions, {loaded['agent_status_history']:,} statuses loaded;"
        f" the simulator served {history['rows_served_from_cache']:,} rows from its cache and rendered"
        f" {history['rows_rendered']:,})\n"
        f"  history / floor: {results['ratio']:.2f}x (target <= 2x)\n"
        f"  a year projected: {results['year_projection_hours']:.2f} h (target < 2 h)\n"
        f"  peak task memory: {history['peak_task_rss_mb']:.0f} MB resident,"
        f" {history['peak_task_pss_mb']:.0f} MB proportional (target < 300 MB)\n"
        "  task time a day, by step (mean; max):",
        flush=True,
    )
    for task, step in sorted(steps.items(), key=lambda item: -item[1]["total_s"]):
        print(f"    {task:<34} {step['mean_s']:7.1f} s  ({step['max_s']:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
