"""DAG-file processing benchmark (``make bench``): not a test, numbers for docs/benchmarks.md.

What the DAG processor does with a DAG folder on every parse cycle, timed for a fleet of
``--integrations`` 8x8 integrations (three DAGs each), next to the floor: a plain Airflow file that
defines the same DAGs (ids, timetable, start dates, task ids and dependencies) with
``EmptyOperator`` tasks and nothing else. Both are measured in fresh processes, alternated
``--repeat`` times, in the same run (this machine is noisy):

* **parse**: ``DagBag`` collecting the folder (importing the DAG file, which for acdflow reads the
  integrations file and builds every DAG through the factory);
* **serialise**: ``DagSerialization.to_dict`` of every DAG, as the DAG processor does before it
  sends the DAGs to the scheduler.

Target: acdflow's parse + serialise at most 1.5 times the plain file's (median of the repeats).
Results: ``.acdflow/bench/parse.json``; exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "parse"
TARGET = 1.5
START_DATE = "2026-01-01T00:00:00+00:00"

# Run in a fresh process: import Airflow first (not timed: both variants pay it), then time what
# the DAG processor does with the folder.
_MEASURE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.dag_processing.processor import _serialize_dags
import structlog
log = structlog.get_logger()
t0 = time.perf_counter()
bag = DagBag(dag_folder={folder!r}, safe_mode=False)
t1 = time.perf_counter()
serialized, errors = _serialize_dags(bag, log)
t2 = time.perf_counter()
tasks = sum(len(d.task_dict) for d in bag.dags.values())
print(json.dumps({{"parse_s": t1 - t0, "serialise_s": t2 - t1, "dags": len(bag.dags), "tasks": tasks,
                  "import_errors": sorted(bag.import_errors), "serialise_errors": sorted(errors)}}))
"""

# The floor: the same DAG shapes, nothing of acdflow.
_PLAIN_HEADER = '''"""Plain Airflow DAGs of the same shapes as acdflow's, EmptyOperator tasks only."""
import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, chain

START = datetime.datetime.fromisoformat({start!r})
SHAPES = {shapes!r}

for name in {names!r}:
    for kind, tasks, catchup in SHAPES:
        with DAG(
            dag_id=f"{{name}}__{{kind}}",
            schedule=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"),
            start_date=START,
            catchup=catchup,
        ) as dag:
            chain(*(EmptyOperator(task_id=t) for t in tasks))
        globals()[dag.dag_id] = dag
'''


def _names(count: int) -> list[str]:
    return [f"tenant_{i:04d}" for i in range(count)]


def _integrations_file(path: Path, count: int) -> None:
    document = {
        "warehouse": {"conn_id": "wfm_warehouse", "schema": "acd"},
        "integrations": [
            {"name": name, "conn_id": f"eightbyeight_{name}", "start_date": START_DATE}
            for name in _names(count)
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _plain_file(path: Path, count: int) -> None:
    from acdflow.factory import KINDS

    shapes = [(kind.name, list(kind.tasks), kind.catchup) for kind in KINDS]
    path.write_text(_PLAIN_HEADER.format(start=START_DATE, shapes=shapes, names=_names(count)))


def _measure(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MEASURE.format(folder=str(folder)))],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"measuring {folder} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["import_errors"] or result["serialise_errors"]:
        raise RuntimeError(f"{folder} did not parse cleanly: {result}")
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(r[key] for r in runs)), 3)


def run(count: int, repeat: int) -> dict[str, Any]:
    acdflow_dir, plain_dir = WORK / "acdflow", WORK / "plain"
    for folder in (acdflow_dir, plain_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    (acdflow_dir / "acdflow_integrations.py").write_text(
        (REPO / "dags" / "acdflow_integrations.py").read_text()
    )
    _integrations_file(WORK / "integrations.yaml", count)
    _plain_file(plain_dir / "plain_dags.py", count)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(WORK / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "ACDFLOW_INTEGRATIONS": str(WORK / "integrations.yaml"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }
    runs: dict[str, list[dict[str, Any]]] = {"acdflow": [], "plain": []}
    for i in range(repeat):
        for variant, folder in (("acdflow", acdflow_dir), ("plain", plain_dir)):
            result = _measure(folder, env)
            runs[variant].append(result)
            print(
                f"  {i + 1}/{repeat} {variant:8s} parse {result['parse_s']:6.2f} s, "
                f"serialise {result['serialise_s']:6.2f} s ({result['dags']} DAGs, {result['tasks']} tasks)",
                flush=True,
            )
    if (
        runs["acdflow"][0]["tasks"] != runs["plain"][0]["tasks"]
        or runs["acdflow"][0]["dags"] != runs["plain"][0]["dags"]
    ):
        raise RuntimeError("the plain file does not define the same DAG shapes")
    summary: dict[str, Any] = {"integrations": count, "repeat": repeat, "target_ratio": TARGET}
    for variant, results in runs.items():
        totals = [r["parse_s"] + r["serialise_s"] for r in results]
        summary[variant] = {
            "dags": results[0]["dags"],
            "tasks": results[0]["tasks"],
            "parse_s": _median(results, "parse_s"),
            "serialise_s": _median(results, "serialise_s"),
            "total_s": round(statistics.median(totals), 3),
            "runs": results,
        }
    summary["ratio"] = round(summary["acdflow"]["total_s"] / summary["plain"]["total_s"], 2)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrations", type=int, default=1000, help="integrations in the fleet [1000]")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process measurements of each [3]")
    args = parser.parse_args()
    print(
        f"DAG-file processing: {args.integrations} integrations, {args.repeat} alternated runs each",
        flush=True,
    )
    summary = run(args.integrations, args.repeat)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "parse.json").write_text(json.dumps(summary, indent=2))
    a, p = summary["acdflow"], summary["plain"]
    print(
        f"\n{a['dags']} DAGs, {a['tasks']} tasks (medians)\n"
        + "".join(
            f"  {label:13s} parse {r['parse_s']:6.2f} s + serialise {r['serialise_s']:6.2f} s"
            f" = {r['total_s']:6.2f} s\n"
            for label, r in (("acdflow", a), ("EmptyOperator", p))
        )
        + f"  ratio {summary['ratio']:.2f} (target ≤ {TARGET})\n"
        f"written to {OUT_DIR / 'parse.json'}"
    )
    return 0 if summary["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
