"""The drift check under a real scheduler (``make bench``): not a test, numbers for the docs.

A real Airflow (scheduler, DAG processor, triggerer, API server; LocalExecutor; metadata in the
embedded PostgreSQL), set up as docs/runbook.md says: with the shipped
``config/airflow_local_settings.py`` in its home, so the scheduler imports Great Expectations once
before it forks the workers (``--no-preload`` leaves it out: every task then imports it itself),
imports ``--intervals`` agent-status intervals of one 100,000-interaction, 300-agent tenant from
the simulator. Then, from the metadata database: the median wall time of
``check_time_drift`` (which validates the Great Expectations suites in memory) and the median of the
other steps of the same runs. Target: the drift check's median at most 3 times the others'.

Results: ``.acdflow/bench/drift.json``; exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acdflow_dev.connections import eightbyeight_conn
from acdflow_dev.embedded import EmbeddedPostgres, airflow_conn_from_uri
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.sim import SimConfig, Simulator

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "drift"
NAME = "bench_drift"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
TARGET = 3.0
DRIFT = "check_time_drift"


def _durations(airflow: LocalAirflow, dag_id: str) -> dict[str, list[float]]:
    rows = airflow.query(
        "SELECT task_id, extract(epoch FROM end_date - start_date) FROM task_instance"
        " WHERE dag_id = %s AND state = 'success'",
        dag_id,
    )
    durations: dict[str, list[float]] = {}
    for task_id, seconds in rows:
        durations.setdefault(str(task_id), []).append(float(seconds))
    return durations


def _unpause_when_parsed(airflow: LocalAirflow, dag_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while airflow.cli("dags", "unpause", dag_id, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{dag_id} was not parsed within {timeout:.0f} s")
        time.sleep(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=12, help="agent-status intervals to import [12]")
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

    # Business hours of the tenant's day before yesterday: final in 8x8, and busy.
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
            tenant_id="benchdrift",
            region="us",
            timezone="America/Chicago",
            scale=args.scale,
            agents=args.agents,
            seed=7,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
    )
    dag_id = f"{NAME}__agent_status"
    print(f"drift check under a real scheduler: {args.intervals} intervals from {first:%Y-%m-%d %H:%M} UTC")
    with EmbeddedPostgres(WORK / "pg") as pg, sim.serve(host="127.0.0.1", port=0) as server:
        env = {
            "AIRFLOW_CONN_EIGHTBYEIGHT_BENCH": json.dumps(
                eightbyeight_conn(
                    server.base_url, CLIENT_ID, CLIENT_SECRET, region="us", timezone="America/Chicago"
                )
            ),
            "AIRFLOW_CONN_WFM_WAREHOUSE": json.dumps(airflow_conn_from_uri(pg.uri)),
            "ACDFLOW_INTEGRATIONS": str(config),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        airflow = LocalAirflow(
            home=WORK / "airflow",
            metadata_conninfo=ensure_database(pg.uri, "airflow"),
            extra_env=env,
            parallelism=4,
        )
        if args.preload:
            (airflow.home / "config").mkdir(exist_ok=True)
            shutil.copy(REPO / "config" / "airflow_local_settings.py", airflow.home / "config")
        airflow.migrate()
        from acdflow.config import load_config

        (spec,) = load_config(config).integrations
        airflow.import_pools(spec.pools())
        with airflow.start():
            _unpause_when_parsed(airflow, dag_id, timeout=300)
            airflow.wait_for_runs(dag_id, count=args.intervals, timeout=args.timeout)
            durations = _durations(airflow, dag_id)
    medians = {task: round(statistics.median(values), 2) for task, values in sorted(durations.items())}
    others = [s for task, values in durations.items() if task != DRIFT for s in values]
    result: dict[str, Any] = {
        "intervals": args.intervals,
        "scale": args.scale,
        "agents": args.agents,
        "preload": args.preload,
        "median_seconds": medians,
        "drift_median_s": medians[DRIFT],
        "others_median_s": round(statistics.median(others), 2),
        "target_ratio": TARGET,
    }
    result["ratio"] = round(result["drift_median_s"] / result["others_median_s"], 2)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "drift.json").write_text(json.dumps(result, indent=2))
    print("  median task wall time: " + ", ".join(f"{t} {s:.1f} s" for t, s in medians.items()))
    print(
        f"  {DRIFT} {result['drift_median_s']:.1f} s vs the other steps {result['others_median_s']:.1f} s"
        f" -> {result['ratio']:.2f}x (target <= {TARGET:g}x)\nwritten to {OUT_DIR / 'drift.json'}"
    )
    return 0 if result["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
