"""Triggerer benchmark (``make bench``): not a test, the live-status trigger's cost per poller.

For each tenant count N (default 100, 300 and 1,000), a fresh process runs N
:class:`acdflow.live.trigger.LiveStatusTrigger` instances concurrently on one asyncio event loop,
as Airflow's triggerer runs them (``async for event in trigger.run()``), each polling its own
tenant for ``--duration`` seconds at ``--poll`` seconds (default 30 s, the integration default).
Every trigger reads its two Airflow connections (``AIRFLOW_CONN_*`` variables) with Airflow's
asynchronous lookup, opens its own 8x8 client and warehouse session, and writes to one embedded
PostgreSQL. One simulator process serves all N tenants behind one credential (``X-Tenant-Info``);
it and PostgreSQL are separate processes, so their CPU is not counted.

Measured in the triggers' process: CPU seconds (``time.process_time``) over the run and resident
memory growth (peak ``VmHWM`` minus ``VmRSS`` just before the triggers start), each per poller;
polls done, failed polls, events that were not ``done``; and the worst gap between two
consecutive polls of one poller (from the loop's own per-poll log record, stamped on a monotonic
clock as it is emitted), with the start-up delay to each poller's first poll. The target is
freshness under that load: every poller keeps its interval, the worst gap within 2x the interval.

Results go to ``.acdflow/bench/triggerer.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ is the script's folder: the same choice of a busy time zone as the live benchmark's.
from bench_live import busiest_zone  # type: ignore[import-not-found, unused-ignore]

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
CLIENT_ID, CLIENT_SECRET = "bench-trig-client", "bench-trig-secret"
SCHEMA = "acd"
WAREHOUSE_CONN = "bench_trig_warehouse"
GAP_TARGET = 2.0  # worst gap between two polls of one poller, in poll intervals


def tenant_id(i: int) -> str:
    return f"benchtenant{i:04d}"


def raise_fd_limit() -> None:
    # Each poller holds an HTTP and a PostgreSQL socket; the simulator a socket and thread each.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU of another process (the simulator, PostgreSQL's postmaster children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the simulator process --------------------------------------------------------------------------


def serve_simulator(tenants: int, agents: int, zone: str, region: str, ready: Any, stop: Any) -> None:
    from acdflow_dev.sim import SimConfig, Simulator
    from acdflow_dev.sim.config import TenantConfig
    from acdflow_dev.sim.realtime import agent_metrics
    from acdflow_dev.sim.server import _Server

    raise_fd_limit()
    # socketserver's default listen backlog (5) would drop connections when every poller
    # connects at the same instant: size it like a production front end.
    _Server.request_queue_size = 4096
    # A poller that gives up on a request resets its connection: not worth a traceback each.
    _Server.handle_error = lambda self, request, client_address: None  # type: ignore[method-assign]
    sim = Simulator(
        SimConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            tenants=tuple(
                TenantConfig(
                    tenant_id=tenant_id(i), region=region, timezone=zone, scale=agents * 50, agents=agents
                )
                for i in range(tenants)
            ),
        )
    )
    sim.clock.use_real_time()
    # 8x8 has no cold start: each simulated tenant's day is generated (about 0.1 s of CPU each)
    # before the triggers start, not inside their first polls.
    now_ms = int(time.time() * 1000)
    for i in range(tenants):
        state = sim.tenant_state(tenant_id(i))
        for agent in state.world.agents:
            agent_metrics(state, agent, now_ms, zone)
    with sim.serve() as server:
        ready.put(server.base_url)
        stop.wait()


# --- the triggers' process --------------------------------------------------------------------------


class PollTimes(logging.Handler):
    """Stamps every poll the loop logs (``"<integration>: poll <n>: ..."``) on a monotonic clock."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.warnings = 0  # e.g. the agents the simulator serves unusable, skipped by the poll

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage()[:300])
        elif record.levelno >= logging.WARNING:
            self.warnings += 1
        elif isinstance(record.msg, str) and record.msg.startswith("%s: poll %s:") and record.args:
            args = record.args if isinstance(record.args, tuple) else ()
            self.times[str(args[0])].append(time.monotonic())


def run_triggers(
    n: int, base_url: str, uri: str, region: str, zone: str, poll_s: float, duration_s: float, out: Any
) -> None:
    from acdflow_dev.embedded import airflow_conn_from_uri

    raise_fd_limit()
    os.environ[f"AIRFLOW_CONN_{WAREHOUSE_CONN.upper()}"] = json.dumps(airflow_conn_from_uri(uri))
    for i in range(n):
        os.environ[f"AIRFLOW_CONN_EIGHTBYEIGHT_{tenant_id(i).upper()}"] = json.dumps(
            {
                "conn_type": "eightbyeight",
                "login": CLIENT_ID,
                "password": CLIENT_SECRET,
                "host": base_url,
                "extra": {"region": region, "timezone": zone, "tenant_id": tenant_id(i)},
            }
        )
    import psycopg

    from acdflow.live.trigger import DONE, LiveStatusTrigger

    handler = PollTimes()
    for name in ("acdflow", "airflow", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
    logging.getLogger("acdflow").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    def triggers(names: list[str], seconds: float, poll: float) -> list[LiveStatusTrigger]:
        with psycopg.connect(uri, autocommit=True) as conn:
            (now,) = conn.execute("SELECT clock_timestamp()").fetchone()  # type: ignore[misc]
        return [
            LiveStatusTrigger(
                integration=name,
                eightbyeight_conn_id=f"eightbyeight_{tenant_id(i)}",
                warehouse_conn_id=WAREHOUSE_CONN,
                schema=SCHEMA,
                run_id="scheduled__bench",
                window_start=(now - timedelta(seconds=1)).isoformat(),
                window_deadline=(now + timedelta(seconds=seconds)).isoformat(),
                poll_seconds=poll,
            )
            for i, name in enumerate(names)
        ]

    async def one(trigger: LiveStatusTrigger) -> dict[str, Any]:
        events = [event.payload async for event in trigger.run()]
        return events[0] if len(events) == 1 else {"status": f"{len(events)} events"}

    async def main(running: list[LiveStatusTrigger], limit: float | None = None) -> list[dict[str, Any]]:
        tasks = [asyncio.create_task(one(t)) for t in running]
        done, pending = await asyncio.wait(tasks, timeout=limit)
        # Triggers still running long after their window closed are cancelled, as a triggerer
        # cancels a trigger whose task timed out, so an overloaded run still reports.
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        unfinished: dict[str, Any] = {"status": "unfinished"}
        return [t.result() if t in done else unfinished for t in tasks]

    # A triggerer that is already running has imported what a trigger uses: one short window of
    # another integration first, outside the measurement.
    asyncio.run(main(triggers(["bt_warmup"], 0.5, 1.0)))
    handler.times.clear()
    handler.errors.clear()
    running = triggers([f"bt_{i:04d}" for i in range(n)], duration_s, poll_s)
    rss_before_kb = proc_kb("VmRSS")
    cpu_before = time.process_time()
    started = time.monotonic()
    events = asyncio.run(main(running, duration_s + 2 * poll_s + 60))
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_before
    peak_kb = proc_kb("VmHWM")

    # A new window's first poll is due at once and its last one within an interval of its end, so
    # the start-up delay and the time from the last poll to the window's end count as gaps too.
    window_end = started + duration_s
    gaps: list[float] = []
    # Once a poller has polled: the gaps without the start-up delay (each trigger reads its two
    # connections first, and Airflow masks every connection secret it has not seen as it is read).
    steady: list[float] = []
    first: list[float] = []
    for name in (f"bt_{i:04d}" for i in range(n)):
        times = handler.times.get(name)
        if not times:
            gaps.append(duration_s)
            continue
        first.append(times[0] - started)
        gaps.extend(b - a for a, b in itertools.pairwise([started, *times]))
        steady.extend(b - a for a, b in itertools.pairwise(times))
        tail = max(0.0, window_end - times[-1])
        gaps.append(tail)
        if times[0] < window_end:
            steady.append(tail)
    summaries = [e.get("summary", {}) for e in events if e.get("status") == DONE]
    failures = [e for e in events if e.get("status") != DONE]
    out.put(
        {
            "pollers": n,
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 2),
            "cpu_ms_per_poller_per_min": round(cpu * 1000 / n / (wall / 60), 2),
            "cpu_share_of_one_core": round(cpu / wall, 3),
            "rss_before_mb": round(rss_before_kb / 1024, 1),
            "rss_peak_mb": round(peak_kb / 1024, 1),
            "rss_growth_per_poller_kb": round((peak_kb - rss_before_kb) / n, 1),
            "polls": sum(len(t) for t in handler.times.values()),
            "pollers_that_polled": len(handler.times),
            "failed_polls": sum(int(s.get("failed_polls") or 0) for s in summaries),
            "failed_events": len(failures),
            "failure_examples": [json.dumps(f)[:300] for f in failures[:3]],
            "logged_errors": len(handler.errors),
            "error_examples": handler.errors[:3],
            "logged_warnings": handler.warnings,
            "unfinished_triggers": sum(e.get("status") == "unfinished" for e in events),
            "worst_gap_s": round(max(gaps), 2) if gaps else None,
            "median_gap_s": round(statistics.median(gaps), 2) if gaps else None,
            "worst_first_poll_s": round(max(first), 2) if first else None,
            "worst_gap_after_first_poll_s": round(max(steady), 2) if steady else None,
            "steady_gaps": len(steady),
            "median_poll_latency_ms": statistics.median(
                [
                    s["median_poll_latency_ms"]
                    for s in summaries
                    if s.get("median_poll_latency_ms") is not None
                ]
                or [0]
            ),
            "max_poll_latency_ms": max((s.get("max_poll_latency_ms") or 0 for s in summaries), default=0),
        }
    )


# --- the driver ---------------------------------------------------------------------------------------


class _Warehouse:
    """The embedded PostgreSQL with room for one session per poller."""

    def __init__(self, path: Path, connections: int) -> None:
        from acdflow_dev.embedded import EmbeddedPostgres

        class Sized(EmbeddedPostgres):
            def _pg(self, exe: str, *args: str, timeout: float = 60) -> None:
                sized = f"max_connections={connections}"
                super()._pg(exe, *(a.replace("max_connections=200", sized) for a in args), timeout=timeout)

        self.pg = Sized(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pollers", default="100,300,1000", help="comma-separated tenant counts")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds each run polls")
    parser.add_argument("--poll", type=float, default=30.0, help="poll interval in seconds")
    parser.add_argument("--agents", type=int, default=30, help="agents per simulated tenant")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.pollers.split(",") if x.strip()]
    zone, region = busiest_zone(datetime.now(UTC))

    from psycopg import sql

    from acdflow.warehouse import store

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    sim_proc = ctx.Process(
        target=serve_simulator, args=(max(counts), args.agents, zone, region, ready, stop), daemon=True
    )
    print(f"simulator: {max(counts)} tenants x {args.agents} agents ({zone}, region {region})", flush=True)
    sim_proc.start()
    results: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(),
        "poll_s": args.poll,
        "duration_s": args.duration,
        "agents_per_tenant": args.agents,
        "zone": zone,
        "cores": os.cpu_count(),
        "results": results,
    }
    warehouse = _Warehouse(OUT_DIR / "tmp" / "pg-triggerer", max(counts) + 50)
    try:
        base_url = ready.get(timeout=600)
        with warehouse.pg as pg:
            with store.connect(pg.uri, SCHEMA):
                pass  # the deferring task migrates; the trigger does not
            for n in counts:
                with store.connect(pg.uri, SCHEMA) as conn:
                    for table in ("agent_status_live", "agent_status_live_log", "live_poll_owner"):
                        conn.execute(
                            sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))
                        )
                print(f"{n} pollers: {args.duration:.0f} s at {args.poll:.0f} s ...", flush=True)
                out = ctx.Queue()
                sim_cpu = cpu_seconds_of(sim_proc.pid or 0)
                worker = ctx.Process(
                    target=run_triggers,
                    args=(n, base_url, pg.uri, region, zone, args.poll, args.duration, out),
                )
                worker.start()
                result: dict[str, Any] = out.get(timeout=args.duration + 2 * args.poll + 900)
                worker.join(timeout=60)
                result["simulator_cpu_s"] = round(cpu_seconds_of(sim_proc.pid or 0) - sim_cpu, 2)
                result["gap_target_s"] = GAP_TARGET * args.poll
                result["freshness_holds"] = (
                    result["worst_gap_s"] is not None
                    and result["worst_gap_s"] <= GAP_TARGET * args.poll
                    and result["pollers_that_polled"] == n
                    and result["failed_events"] == 0
                    and result["unfinished_triggers"] == 0
                )
                results.append(result)
                report["results"] = results
                # Written after each count: a later, larger one may overload the machine.
                (OUT_DIR / "triggerer.json").write_text(json.dumps(report, indent=2))
    finally:
        stop.set()
        sim_proc.join(timeout=30)

    report["connection_secrets_masking_s"] = {str(n): masking_seconds(n) for n in counts}
    (OUT_DIR / "triggerer.json").write_text(json.dumps(report, indent=2))
    print_table(report)
    return 0 if all(r["freshness_holds"] for r in results) else 1


def masking_seconds(n: int) -> float:
    """CPU seconds Airflow's secrets masker spends registering ``n`` distinct connection secrets
    (40 characters, as a Client secret), as a triggerer does once per process for the connections
    its triggers read. The benchmark's tenants share one credential, so this is measured apart."""
    import secrets as random_secrets

    from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

    masker = SecretsMasker()
    values = [random_secrets.token_urlsafe(30) for _ in range(n)]
    started = time.process_time()
    for value in values:
        masker.add_mask(value)
    return round(time.process_time() - started, 2)


def print_table(report: dict[str, Any]) -> None:
    poll = report["poll_s"]
    print()
    print(
        f"Live-status triggers in one triggerer process: {report['duration_s']:.0f} s "
        f"at a {poll:.0f} s poll, "
        f"{report['agents_per_tenant']} agents per simulated tenant, {report['cores']} cores"
    )
    print(f"target: freshness holds, each poller's worst gap between two polls <= {GAP_TARGET * poll:.0f} s")
    head = ("pollers", "CPU s", "ms/poller/min", "core share", "RSS MB", "KB/poller", "polls",
            "failed", "worst gap s", "first poll s", "then worst s", "poll p50 ms", "sim CPU s",
            "freshness")  # fmt: skip
    print("  ".join(f"{h:>13}" for h in head))
    for r in report["results"]:
        row = (
            r["pollers"], r["cpu_s"], r["cpu_ms_per_poller_per_min"], r["cpu_share_of_one_core"],
            f"{r['rss_before_mb']:.0f}->{r['rss_peak_mb']:.0f}", r["rss_growth_per_poller_kb"], r["polls"],
            r["failed_polls"] + r["failed_events"], r["worst_gap_s"], r["worst_first_poll_s"],
            r.get("worst_gap_after_first_poll_s"), r["median_poll_latency_ms"], r["simulator_cpu_s"],
            "holds" if r["freshness_holds"] else "FAILS",
        )  # fmt: skip
        print("  ".join(f"{v!s:>13}" for v in row))
    print(
        "CPU and RSS: the triggers' process only; the simulator (one process, CPU in 'sim CPU s') and "
        "PostgreSQL run apart. A slow simulator shows as poll latency and late first polls."
    )
    masking = report.get("connection_secrets_masking_s", {})
    if masking:
        print(
            "Airflow's secrets masker, once per triggerer process, for distinct connection secrets: "
            + ", ".join(f"{n}: {s} CPU s" for n, s in masking.items())
        )
    print(f"results: {OUT_DIR / 'triggerer.json'}")


if __name__ == "__main__":
    sys.exit(main())
