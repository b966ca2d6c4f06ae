"""Storage benchmark (``make bench``, ``make bench-storage``): not a test, numbers for the docs.

One tenant of 100,000 interactions a day is imported interval by interval at the default windows
(every interactions run re-reads 4 hours, the 02:00 run 48 hours; every agent-status run 30
minutes), running the real task functions in order with their results passed on as XCom would.
What the warehouse writes for that day is measured on the server:

* WAL bytes (``pg_current_wal_lsn`` before and after; nothing else uses the server, which runs
  with PostgreSQL's default durability settings, full-page images included);
* rows inserted, updated and deleted per table (``pg_stat_user_tables``), landing and staging
  tables apart from the published ones;
* the day's unique data, two ways: as stored (``pg_total_relation_size`` of ``interactions``,
  ``interval_aht`` and ``agent_status_history``: rows, their headers and their indexes; each
  schema starts empty, and the current revision leaves no dead rows behind in them) and as bare
  row bytes (``pg_column_size`` of each published row), the stricter measure.

The same day is imported twice, each into its own schema of the same server: by the working tree
and by ``--before`` (default: the revision before landing and staging stopped writing WAL and
re-reads stopped rewriting rows), checked out with ``git worktree``. Target: WAL at most 3 times
the day's unique data.

Results: ``.acdflow/bench/storage.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "storage"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
DAY = datetime(2026, 11, 10, tzinfo=UTC)
BEFORE = "be93eea"
KINDS = {
    "interactions": (
        "authenticate",
        "trigger_report",
        "wait_for_report",
        "extract",
        "transform",
        "load",
        "aggregate_aht",
    ),
    # check_time_drift is left out: it writes only its results (one row per check and interval).
    "agent_status": ("authenticate", "trigger_report", "wait_for_report", "extract", "transform", "load"),
}
TRANSIENT = ("raw_report_pages", "stg_interactions", "stg_status_events", "stg_rejected_rows")
PUBLISHED = ("interactions", "interval_aht", "agent_status_history")


def _server_figures(uri: str, schema: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        tables = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE schemaname = %s",
            (schema,),
        ).fetchall()
    assert lsn is not None
    return {"lsn": lsn[0], "tables": {t[0]: {"ins": t[1], "upd": t[2], "del": t[3]} for t in tables}}


def _wal_bytes(uri: str, start: str, end: str) -> int:
    import psycopg

    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint", (end, start)).fetchone()
    assert row is not None
    return int(row[0])


def _unique_bytes(uri: str, schema: str) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    sizes = {}
    with psycopg.connect(uri) as conn:
        for table in PUBLISHED:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0),"
                    " pg_total_relation_size(%s::regclass) FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table)),
                (f'"{schema}".{table}',),
            ).fetchone()
            assert row is not None
            sizes[f"{table}_rows"] = int(row[0])
            sizes[f"{table}_bytes"] = int(row[1])
            sizes[f"{table}_stored_bytes"] = int(row[2])
    return sizes


def measure(schema: str, hours: int, uri: str) -> dict[str, Any]:
    """Child process: import ``hours`` of the day with whichever ``acdflow`` is first on the path."""
    import acdflow
    from acdflow.config import load_config
    from acdflow.pipeline.steps import Step
    from acdflow.runtime import RunInfo
    from acdflow.warehouse.connection import connect

    config = load_config()
    (spec,) = config.integrations
    intervals = [DAY + timedelta(minutes=15 * i) for i in range(hours * 4)]
    # The schema exists and is migrated before the first figure is taken.
    with connect(config.warehouse.conn_id, config.warehouse.schema):
        pass
    time.sleep(1)
    first = _server_figures(uri, schema)
    began = time.monotonic()
    rows_fetched = 0
    for start in intervals:
        for kind, tasks in KINDS.items():
            module = importlib.import_module(f"acdflow.pipeline.{kind}")
            results: dict[str, Any] = {}
            for task in tasks:
                run = RunInfo(
                    f"{spec.name}__{kind}",
                    f"bench_{start:%H%M}",
                    task,
                    1,
                    start,
                    start + timedelta(minutes=15),
                )
                results[task] = getattr(module, task)(Step(spec, config.warehouse, run, results.get))
            if kind == "interactions":
                rows_fetched += int(results["extract"]["rows_fetched"])
        if start.minute == 0 and start.hour % 6 == 5:
            print(f"  {schema}: imported up to {start + timedelta(minutes=15):%H:%M}", flush=True)
    seconds = time.monotonic() - began
    time.sleep(1.5)  # per-table counters reach the statistics shortly after each session ends
    last = _server_figures(uri, schema)
    written: dict[str, dict[str, int]] = {}
    for table, after in last["tables"].items():
        before = first["tables"].get(table, {"ins": 0, "upd": 0, "del": 0})
        written[table] = {k: after[k] - before[k] for k in ("ins", "upd", "del")}
    return {
        "package": str(Path(acdflow.__file__).parent),
        "intervals": len(intervals),
        "seconds": round(seconds, 1),
        "interaction_rows_fetched": rows_fetched,
        "wal_bytes": _wal_bytes(uri, first["lsn"], last["lsn"]),
        "written": written,
        **_unique_bytes(uri, schema),
    }


def _worktree(rev: str) -> Path:
    path = WORK / f"rev-{rev}"
    if not path.exists():
        git = shutil.which("git") or "git"
        subprocess.run([git, "-C", str(REPO), "worktree", "add", "--detach", str(path), rev], check=True)
    return path


def _child(
    plugins: Path, schema: str, hours: int, uri: str, env: dict[str, str], config: Path
) -> dict[str, Any]:
    config.write_text(
        json.dumps(
            {
                "warehouse": {"conn_id": "wfm_warehouse", "schema": schema},
                "integrations": [
                    {"name": "bench", "conn_id": "eightbyeight_bench", "start_date": "2026-11-01"}
                ],
            }
        )
    )
    out = subprocess.run(
        [sys.executable, __file__, "--measure", schema, "--hours", str(hours), "--uri", uri],
        env={
            **os.environ,
            **env,
            "ACDFLOW_INTEGRATIONS": str(config),
            # The revision measured, first on the path: its package and its SQL.
            "PYTHONPATH": str(plugins),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"import with {plugins} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    print(out.stdout.rsplit("\n", 2)[0], flush=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    unique = sum(r[f"{t}_bytes"] for t in PUBLISHED)
    stored = sum(r[f"{t}_stored_bytes"] for t in PUBLISHED)
    transient = sum(sum(r["written"].get(t, {}).values()) for t in TRANSIENT)
    published = sum(sum(v.values()) for t, v in r["written"].items() if t not in TRANSIENT)
    return {
        "wal_mb": r["wal_bytes"] / 2**20,
        "unique_mb": unique / 2**20,
        "stored_mb": stored / 2**20,
        "wal_ratio": r["wal_bytes"] / unique if unique else float("nan"),
        "wal_stored_ratio": r["wal_bytes"] / stored if stored else float("nan"),
        "rows_transient": transient,
        "rows_published": published,
        "rows_fetched": r["interaction_rows_fetched"],
        "unique_interactions": r["interactions_rows"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="interactions per day [100000]")
    parser.add_argument("--hours", type=int, default=24, help="hours of the day to import [24]")
    parser.add_argument("--before", default=BEFORE, help=f"revision to compare with; '' to skip [{BEFORE}]")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.hours, args.uri)))
        return 0

    from acdflow_dev.connections import eightbyeight_conn
    from acdflow_dev.embedded import EmbeddedPostgres, airflow_conn_from_uri
    from acdflow_dev.sim import SimConfig, Simulator

    shutil.rmtree(WORK / "pg", ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    sim = Simulator(
        SimConfig.single(
            tenant_id="benchstorage",
            region="us",
            timezone="America/Chicago",
            scale=args.scale,
            seed=7,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
    )
    sim.clock.set(DAY + timedelta(days=2))  # the day is final: every re-read finds the same rows
    variants = [("now", REPO / "plugins")]
    if args.before:
        variants.insert(0, (f"before ({args.before})", _worktree(args.before) / "plugins"))
    print(
        f"storage benchmark: {args.hours} h of {DAY:%Y-%m-%d}, {args.scale:,} interactions/day, "
        "default windows (4 h look-back, 48 h settle at 02:00, 30 min status overlap)",
        flush=True,
    )
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hours": args.hours,
    }
    with (
        EmbeddedPostgres(WORK / "pg", production_wal=True) as pg,
        sim.serve(host="127.0.0.1", port=0) as server,
    ):
        env = {
            "AIRFLOW_CONN_EIGHTBYEIGHT_BENCH": json.dumps(
                eightbyeight_conn(
                    server.base_url, CLIENT_ID, CLIENT_SECRET, region="us", timezone="America/Chicago"
                )
            ),
            "AIRFLOW_CONN_WFM_WAREHOUSE": json.dumps(airflow_conn_from_uri(pg.uri)),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        for i, (label, plugins) in enumerate(variants):
            raw = _child(plugins, f"bench_{i}", args.hours, pg.uri, env, WORK / f"integrations-{i}.yaml")
            results[label] = {"raw": raw, **_summary(raw)}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "storage.json").write_text(json.dumps(results, indent=2))
    print(
        f"\n{'':>18} {'WAL MB':>8} {'stored MB':>10} {'WAL/stored':>11} {'row MB':>7} {'WAL/rows':>9}"
        f" {'rows landed+staged':>19} {'rows published':>15}"
    )
    for label, _ in variants:
        r = results[label]
        print(
            f"{label:>18} {r['wal_mb']:8.1f} {r['stored_mb']:10.1f} {r['wal_stored_ratio']:10.1f}x"
            f" {r['unique_mb']:7.1f} {r['wal_ratio']:8.1f}x"
            f" {r['rows_transient']:19,} {r['rows_published']:15,}"
        )
    per_day = 24 / args.hours
    now = results["now"]
    verdict = "met" if now["wal_stored_ratio"] <= 3 else "NOT met"
    print(
        f"\nper day (x{per_day:g}): WAL {now['wal_mb'] * per_day:,.0f} MB for"
        f" {now['stored_mb'] * per_day:,.0f} MB of unique data as stored"
        f" ({now['unique_mb'] * per_day:,.0f} MB of bare rows); target WAL <= 3x stored: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
