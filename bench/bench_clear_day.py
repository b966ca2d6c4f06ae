"""Clearing a day under a real scheduler (``make bench``): not a test, numbers for the README.

A real Airflow (scheduler, dag processor, triggerer, API server; LocalExecutor; metadata in the
embedded PostgreSQL) imports one day (96 intervals) of one integration from the simulator. Then the
whole day is cleared with ``airflow tasks clear`` and the wall time until all 96 runs succeeded
again is measured. The same is done, in the same run, for a no-op DAG of the same shape (seven
Python tasks in a chain, same timetable, catch-up, max active runs, retries and pool sizes): that is
Airflow's own floor for re-running 96 × 7 tasks on this machine. Target: within 1.5× of the floor.

Only the DAG being measured is unpaused at any time. Results go to ``.acdflow/bench/clear_day.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acdflow_dev.connections import eightbyeight_conn, local_airflow_env
from acdflow_dev.embedded import EmbeddedPostgres
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.sim import SimConfig, Simulator

REPO = Path(__file__).resolve().parents[1]

OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "clear_day"
NAME = "bench_day"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
RUNS = 96
API_SLOTS = 4

NOOP_DAG = '''
"""No-op DAG with the shape of an acdflow interactions DAG: the benchmark's floor."""
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, CronDataIntervalTimetable

STEPS = ("authenticate", "trigger_report", "wait_for_report", "extract", "transform", "load", "aggregate_aht")
API_STEPS = ("authenticate", "trigger_report", "wait_for_report", "extract")


def _nothing():
    return None


with DAG(
    dag_id="noop__interactions",
    schedule=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"),
    start_date=datetime.fromisoformat("{start}"),
    end_date=datetime.fromisoformat("{last_start}"),
    catchup=True,
    max_active_runs=4,
    max_active_tasks=16,
    default_args={{"retries": 3, "retry_delay": timedelta(seconds=30)}},
):
    previous = None
    for step in STEPS:
        task = PythonOperator(
            task_id=step,
            python_callable=_nothing,
            **({{"pool": "bench_noop_api"}} if step in API_STEPS else {{}}),
        )
        if previous is not None:
            previous >> task
        previous = task
'''


def _phase(airflow: LocalAirflow, dag_id: str, first: datetime, timeout: float) -> dict[str, float]:
    """Catch up the day, then clear it and time the re-import."""
    airflow.cli("dags", "unpause", dag_id)
    began = time.monotonic()
    airflow.wait_for_runs(dag_id, count=RUNS, timeout=timeout, poll=2)
    catch_up = time.monotonic() - began
    since = datetime.now(UTC)
    began = time.monotonic()
    last = first + (RUNS - 1) * timedelta(minutes=15)
    airflow.cli("tasks", "clear", dag_id, "-s", first.isoformat(), "-e", last.isoformat(), "-y")
    airflow.wait_for_runs(dag_id, count=RUNS, since=since, timeout=timeout, poll=2)
    cleared = time.monotonic() - began
    airflow.cli("dags", "pause", dag_id)
    print(f"  {dag_id}: catch-up {catch_up:.0f} s, clear and re-run {cleared:.0f} s", flush=True)
    return {"catch_up_seconds": catch_up, "clear_seconds": cleared}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20_000, help="interactions per day [20000]")
    parser.add_argument("--timeout", type=float, default=3600, help="per phase, seconds [3600]")
    args = parser.parse_args()

    # Three days back: the whole day is older than the 48-hour settle look-back, final data that
    # a cleared run reads once.
    first = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = first + timedelta(days=1)
    shutil.rmtree(WORK, ignore_errors=True)
    dags = WORK / "dags"
    dags.mkdir(parents=True)
    shutil.copy(REPO / "dags" / "acdflow_integrations.py", dags)
    (dags / "noop_day.py").write_text(
        NOOP_DAG.format(start=first.isoformat(), last_start=(end - timedelta(minutes=15)).isoformat())
    )
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
                        "api_concurrency": API_SLOTS,
                        "settle_hour_utc": 2,
                    }
                ]
            }
        )
    )
    sim = Simulator(
        SimConfig.single(
            tenant_id="benchday",
            region="us",
            timezone="America/Chicago",
            scale=args.scale,
            seed=5,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
    )
    print(f"clear-a-day benchmark: {RUNS} intervals of {first:%Y-%m-%d}, {args.scale:,} interactions/day")
    with EmbeddedPostgres(WORK / "pg") as pg, sim.serve(host="127.0.0.1", port=0) as server:
        bench_conn = eightbyeight_conn(
            server.base_url, CLIENT_ID, CLIENT_SECRET, region="us", timezone="America/Chicago"
        )
        env = local_airflow_env(pg.uri, config, {"eightbyeight_bench": bench_conn})
        airflow = LocalAirflow(
            home=WORK / "airflow",
            metadata_conninfo=ensure_database(pg.uri, "airflow"),
            extra_env=env,
            dags_folder=dags,
        )
        airflow.migrate()
        from acdflow.config import load_config

        (spec,) = load_config(config).integrations
        airflow.import_pools(
            [
                *spec.pools(),
                {"name": "bench_noop_api", "slots": API_SLOTS, "description": "", "include_deferred": False},
            ]
        )
        with airflow.start():
            results: dict[str, Any] = {
                "runs": RUNS,
                "scale": args.scale,
                "day": first.date().isoformat(),
                "noop": _phase(airflow, "noop__interactions", first, args.timeout),
                "acdflow": _phase(airflow, f"{NAME}__interactions", first, args.timeout),
            }
    results["ratio"] = results["acdflow"]["clear_seconds"] / results["noop"]["clear_seconds"]
    (OUT_DIR / "clear_day.json").write_text(json.dumps(results, indent=2))
    print(
        f"  clear one day ({RUNS} intervals): acdflow {results['acdflow']['clear_seconds']:.0f} s, "
        f"no-op DAG of the same shape {results['noop']['clear_seconds']:.0f} s -> "
        f"{results['ratio']:.2f}x Airflow's floor (target <= 1.5x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
