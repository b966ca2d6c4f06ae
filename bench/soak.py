"""Soak run (``make soak``): three integrations import a simulated day each under a real scheduler
while the simulator injects faults, then the warehouse is compared with the simulator's ground truth.

Not a test (about an hour on two cores at the default windows; docs/benchmarks.md): a run
whose table misses the bar exits 1.
``tests/scheduler/test_soak_small.py`` (``make test-e2e``) runs it for one hour of data.

* Integrations: ``soak_chicago`` (US region, America/Chicago), ``soak_berlin`` (EU, Europe/Berlin)
  and ``soak_sydney`` (AU, Australia/Sydney) whose credential covers two tenants, so every request
  carries ``X-Tenant-Info``. Each tenant has ``--scale`` interactions per day and ``--agents``
  agents; the day is the 24 hours up to an hour before the start (96 intervals), recent enough
  that no run reads it as final data, with the simulators' clocks held at the start.
* Windows: the product's defaults. Every interactions run re-reads a 4-hour look-back (each row is
  read about seventeen times), every agent-status run 30 minutes, and the 02:00 settle run of both
  DAGs 48 hours, so every interval is loaded many times and must stay exact. The simulator renders
  each row once and serves re-reads from the rendered rows (about 50,000-100,000 rows/s).
* Airflow: scheduler, DAG processor, triggerer and API server with the LocalExecutor, metadata in
  the embedded PostgreSQL (``acdflow_dev.local.runner``), the shipped
  ``config/airflow_local_settings.py`` installed (``--no-preload``: not). The interactions and
  agent-status DAGs of the three integrations catch up the day at once; the live DAGs stay paused
  (they poll the present).
* Faults, per simulator: ``--fault-rate`` of all token and metrics requests fail with 429 +
  ``Retry-After``, 500/502/503/504, a slow answer, a connection reset or a revocation of every
  token (mid-pagination too); the first report created fails (``FAILED``); ``--malformed-rate`` of
  the rows are malformed (missing keys, bad or offset-less timestamps, unknown media, null queue).
* Bar: every interval loaded; zero missing, duplicated or mismatched interactions, AHT rows and
  agent statuses; every quarantined row carries a malformation the simulator injected and every
  injected malformation is quarantined (or, for a null queue, filtered; byte-identical bad rows
  are one quarantined row, as the quarantine is keyed by the row's hash); every 429 on a GET
  honoured (not retried before Retry-After); no failed run and no alert (each fault is absorbed
  by a client retry or a task retry).

Results: ``.acdflow/bench/soak.json`` and the table in ``.acdflow/bench/soak.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg.rows import dict_row

from acdflow.config import load_config
from acdflow_dev.compare import compare
from acdflow_dev.connections import eightbyeight_conn, local_airflow_env
from acdflow_dev.embedded import EmbeddedPostgres
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.local.webhook import WebhookReceiver
from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.config import TenantConfig

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / ".acdflow" / "bench"
WORK = OUT_DIR / "tmp" / "soak"  # both follow --out
SCHEMA = "acd"
FIFTEEN = timedelta(minutes=15)
INTERVALS = 96
KINDS = ("interactions", "agent_status")
# The product's defaults, written out so the results record them.
LOOKBACK_MINUTES = 240
SETTLE_LOOKBACK_HOURS = 48
SETTLE_HOUR_UTC = 2
FAULTS = (
    "rate={rate};kinds=429,500,502,503,504,latency,reset,revoke;retry_after=1;latency_ms=2000;"
    "failed_reports=1;malformed_rate={malformed};seed={seed}"
)
QUOTED = re.compile(r"\s*\(?'[^']*'\)?")


@dataclass(frozen=True)
class Tenant:
    name: str  # the integration
    region: str
    timezone: str
    seed: int
    # More tenants on the same credential: the integration must name its own in X-Tenant-Info.
    neighbours: tuple[tuple[str, str], ...] = ()

    @property
    def tenant_id(self) -> str:
        return self.name.replace("_", "") + "01"

    @property
    def conn_id(self) -> str:
        return f"eightbyeight_{self.name}"


TENANTS = (
    Tenant("soak_chicago", "us", "America/Chicago", seed=41),
    Tenant("soak_berlin", "eu", "Europe/Berlin", seed=42),
    Tenant(
        "soak_sydney", "au", "Australia/Sydney", seed=43, neighbours=(("soakperth02", "Australia/Perth"),)
    ),
)


def _simulator(tenant: Tenant, args: argparse.Namespace) -> Simulator:
    tenants = (
        TenantConfig(tenant.tenant_id, tenant.region, tenant.timezone, scale=args.scale, agents=args.agents),
        *(TenantConfig(tid, tenant.region, zone, scale=2000) for tid, zone in tenant.neighbours),
    )
    return Simulator(
        SimConfig(
            seed=tenant.seed,
            client_id=f"{tenant.name}-client",
            client_secret=f"{tenant.name}-secret",
            tenants=tenants,
            faults=FAULTS.format(rate=args.fault_rate, malformed=args.malformed_rate, seed=tenant.seed),
        )
    )


def _connection(tenant: Tenant, base_url: str) -> dict[str, Any]:
    return eightbyeight_conn(
        base_url,
        f"{tenant.name}-client",
        f"{tenant.name}-secret",
        region=tenant.region.upper(),
        timezone=tenant.timezone,
        tenant_id=tenant.tenant_id if tenant.neighbours else None,
    )


def _write_config(path: Path, day: datetime, end: datetime) -> None:
    document = {
        "warehouse": {"conn_id": "wfm_warehouse", "schema": SCHEMA},
        "integrations": [
            {
                "name": t.name,
                "system": "8x8",
                "conn_id": t.conn_id,
                "start_date": day.isoformat(),
                "end_date": end.isoformat(),
                "api_concurrency": 2,
                "max_active_runs": 4,
                "lookback_minutes": LOOKBACK_MINUTES,
                "settle_lookback_hours": SETTLE_LOOKBACK_HOURS,
                "settle_hour_utc": SETTLE_HOUR_UTC,
                "alerts": {"webhook_conn_id": "soak_alerts"},
            }
            for t in TENANTS
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@contextmanager
def _stack(
    args: argparse.Namespace, day: datetime, frozen: datetime
) -> Iterator[tuple[LocalAirflow, str, dict[str, Simulator], WebhookReceiver]]:
    with ExitStack() as stack:
        pg = stack.enter_context(EmbeddedPostgres(WORK / "pg"))
        receiver = stack.enter_context(WebhookReceiver())
        sims: dict[str, Simulator] = {}
        connections: dict[str, Any] = {"soak_alerts": receiver.airflow_conn()}
        for tenant in TENANTS:
            sim = _simulator(tenant, args)
            sim.clock.set(frozen)
            server = stack.enter_context(sim.serve(host="127.0.0.1", port=0))
            sims[tenant.name] = sim
            connections[tenant.conn_id] = _connection(tenant, server.base_url)
        env = local_airflow_env(pg.uri, WORK / "integrations.yaml", connections)
        _write_config(WORK / "integrations.yaml", day, day + INTERVALS * FIFTEEN)
        airflow = LocalAirflow(
            home=WORK / "airflow",
            metadata_conninfo=ensure_database(pg.uri, "airflow"),
            extra_env=env,
            dags_folder=WORK / "dags",
            parallelism=args.parallelism,
            preload=args.preload,
        )
        airflow.migrate()
        airflow.import_pools(
            p for spec in load_config(WORK / "integrations.yaml").integrations for p in spec.pools()
        )
        stack.enter_context(airflow.start())
        yield airflow, pg.uri, sims, receiver


def _wait(airflow: LocalAirflow, dag_ids: list[str], timeout: float) -> dict[str, dict[str, int]]:
    """Until every DAG has INTERVALS finished runs (success or failed), printing progress."""
    began = time.monotonic()
    last_print = 0.0
    states: dict[str, dict[str, int]] = {}
    while True:
        rows = airflow.query(
            "SELECT dag_id, state, count(*) FROM dag_run WHERE dag_id = ANY(%s) GROUP BY dag_id, state",
            dag_ids,
        )
        states = {d: {} for d in dag_ids}
        for dag_id, state, n in rows:
            states[dag_id][str(state)] = int(n)
        finished = {d: s.get("success", 0) + s.get("failed", 0) for d, s in states.items()}
        elapsed = time.monotonic() - began
        if elapsed - last_print >= 60:
            last_print = elapsed
            done = sum(finished.values())
            print(f"  {elapsed / 60:5.1f} min: {done}/{INTERVALS * len(dag_ids)} runs finished", flush=True)
        if all(n >= INTERVALS for n in finished.values()):
            return states
        if elapsed > timeout:
            print(f"  timed out after {timeout:.0f} s: {states}", flush=True)
            return states
        time.sleep(5)


# -- the comparison ------------------------------------------------------------------------------


def _query(uri: str, text: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(uri, row_factory=dict_row) as conn:
        return conn.execute(text.replace("{schema}", SCHEMA), params).fetchall()


def _compared(
    uri: str, sim: Simulator, tenant: Tenant, start: datetime, end: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Interactions (with AHT) and agent statuses against the ground truth (``acdflow_dev.compare``);
    statuses as of the day's end: a status still open then has no end time in the truth, nor in
    the warehouse, whose last run read up to that instant."""
    truth = sim.ground_truth(tenant.tenant_id)
    diff = compare(uri, SCHEMA, tenant.name, truth, start, end)
    aht = diff.interval_aht
    interactions = {
        **diff.interactions.counts(),
        "filtered_malformed": len(truth.filtered_by_malformation(start, end)),
        "aht_rows": aht.expected,
        "aht_mismatches": len(aht.missing) + len(aht.unexpected) + len(aht.mismatched),
        "aht_duplicates": aht.duplicates,
        "examples": diff.interactions.examples() + aht.examples(),
    }
    statuses = {
        **diff.agent_statuses.counts(),
        "agents": len({agent_id for agent_id, _ in diff.agent_statuses.have}),
        "examples": diff.agent_statuses.examples(),
    }
    return interactions, statuses


def _items(raw: Any) -> dict[Any, Any]:
    """A report row as sent (``{"items": [{key, value}, …]}``) as a mapping (docs/8x8-api-notes.md,
    “Row format”)."""
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return {}
    return {i.get("key"): i.get("value") for i in items if isinstance(i, dict)}


def _rejections(uri: str, sim: Simulator, tenant: Tenant, start: datetime, end: datetime) -> dict[str, Any]:
    """Quarantined rows against the malformations the simulator injected."""
    truth = sim.ground_truth(tenant.tenant_id)
    rows = _query(
        uri,
        "SELECT source, reason, record_id, record_time, interval_start, raw FROM {schema}.rejected_rows"
        " WHERE integration = %s",
        tenant.name,
    )
    # Reasons quote the offending value; group them without it.
    reasons = Counter(f"{r['source']}: {re.sub(QUOTED, '', r['reason'])}" for r in rows)
    # Every quarantined row must carry an injected malformation: interactions are looked up by id
    # in the simulator's fault injector; agent statuses are malformed only as a missing agent id or
    # an unparseable time, which no clean row has.
    unaccounted = 0
    for r in rows:
        if r["source"] == "interactions":
            ok = r["record_id"] is None or sim.faults.interaction_malformation(r["record_id"]) is not None
        else:
            ok = r["record_id"] is None or r["record_time"] is None
        unaccounted += not ok
    # And every malformation injected into the day is quarantined (null queues are filtered instead).
    quarantined_ids = {r["record_id"] for r in rows if r["source"] == "interactions" and r["record_id"]}
    expected_ix = truth.rejected_interactions(start, end)
    missing_ix_rows = [
        x
        for x in expected_ix
        if not (x.kind == "missing_keys" and x.field == "interactionId")
        and x.interaction_id not in quarantined_ids
    ]
    missing_ix = len(missing_ix_rows)
    # Agent statuses: a row without agentId is known by its time; a row with an unparseable time
    # by its agent, status and code. Two such rows of one agent with the same status and code are
    # byte-identical (the time was the only difference), so the quarantine, keyed by the raw row's
    # hash, holds them once: that group needs at least one row, and the rest count as collapsed.
    have_missing_id: Counter[Any] = Counter()
    have_bad_time: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        if r["source"] == "interactions":
            continue
        if r["record_id"] is None:
            have_missing_id[r["record_time"]] += 1
        elif r["record_time"] is None:
            raw = _items(r["raw"])
            have_bad_time[r["record_id"], raw.get("status"), raw.get("statusCode")] += 1
    expected_st = truth.rejected_agent_statuses(start, end, as_of=end - timedelta(milliseconds=1))
    want_missing_id = Counter(x.time for x in expected_st if x.kind == "missing_agent_id")
    want_bad_time = Counter(
        (x.agent_id, x.status, x.status_code) for x in expected_st if x.kind != "missing_agent_id"
    )
    short: dict[Any, tuple[int, int]] = {
        k: (n, have_missing_id[k]) for k, n in want_missing_id.items() if have_missing_id[k] < n
    }
    short |= {k: (n, 0) for k, n in want_bad_time.items() if not have_bad_time[k]}
    missing_st = sum(n - m for n, m in short.values())
    collapsed = sum(n - min(n, have_bad_time[k]) for k, n in want_bad_time.items() if have_bad_time[k])
    # The evidence for a miss: what the simulator injected that no quarantined row carries.
    examples = [
        f"interaction {x.interaction_id} {x.kind}/{x.field} at {x.queue_time}" for x in missing_ix_rows
    ]
    examples += [f"agent status {k}: {n} injected, {m} quarantined" for k, (n, m) in short.items()]
    return {
        "quarantined": len(rows),
        "injected_in_day": len(expected_ix) + len(expected_st),
        "unaccounted": unaccounted,
        "injected_not_quarantined": missing_ix + missing_st,
        "identical_rows_collapsed": collapsed,
        "reasons": dict(reasons.most_common()),
        "not_quarantined_examples": examples[:50],
    }


def _api(uri: str, sim: Simulator, tenant: Tenant) -> dict[str, Any]:
    log = sim.request_log()
    faults = Counter(r.fault for r in log if r.fault)
    retry_after = sim.faults.retry_after
    by_request: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in log:
        by_request[r.method, r.path, r.query].append(r)
    # A 429 is honoured when the same request (method, path and query) is not sent again before
    # Retry-After has passed. Only GETs can be told apart that way: the token requests and report
    # creations of parallel tasks share their path and differ only in the body, which is not logged.
    honoured = judged = 0
    early: list[str] = []
    for same in by_request.values():
        same.sort(key=lambda r: r.started_at)
        for this, after in itertools.pairwise(same):
            if this.status == 429 and this.method == "GET":
                judged += 1
                waited = after.started_at - this.finished_at
                honoured += waited >= retry_after - 0.01
                if waited < retry_after - 0.01:
                    early.append(f"GET {this.path}?{this.query} again after {waited:.2f} s")
    client = _query(
        uri,
        "SELECT coalesce(sum(api_requests), 0) AS requests,"
        " coalesce(sum((details->>'api_retries')::int), 0) AS retries,"
        " coalesce(sum((details->>'rate_limited')::int), 0) AS rate_limited"
        " FROM {schema}.load_runs WHERE integration = %s AND status = 'success'",
        tenant.name,
    )[0]
    return {
        "served": len(log),
        "faults": dict(faults.most_common()),
        "fault_share": round(sum(faults.values()) / max(1, len(log)), 4),
        "http_429": faults.get("429", 0),
        "http_429_judged": judged,
        "http_429_honoured": honoured,
        "http_429_early": early,
        "client_requests": int(client["requests"]),
        "client_retries": int(client["retries"]),
        "client_rate_limited": int(client["rate_limited"]),
    }


def _airflow(
    airflow: LocalAirflow, uri: str, tenant: Tenant, states: dict[str, dict[str, int]]
) -> dict[str, Any]:
    dag_ids = [f"{tenant.name}__{kind}" for kind in KINDS]
    tries = airflow.query(
        "SELECT task_id, sum(greatest(try_number - 1, 0)) FROM task_instance"
        " WHERE dag_id = ANY(%s) GROUP BY task_id",
        dag_ids,
    )
    failures = _query(
        uri,
        "SELECT step, error FROM {schema}.load_runs WHERE integration = %s AND status = 'failed'",
        tenant.name,
    )
    return {
        "runs": {d: states.get(d, {}) for d in dag_ids},
        "task_retries": int(sum(n for _, n in tries)),
        "task_retries_by_task": {str(t): int(n) for t, n in tries if n},
        "failed_tries": Counter(f"{f['step']}: {(f['error'] or '')[:120]}" for f in failures).most_common(),
    }


def _meets_bar(r: dict[str, Any]) -> list[str]:
    problems = []
    for dag_id, s in r["airflow"]["runs"].items():
        if s.get("success", 0) != INTERVALS:
            problems.append(f"{dag_id}: {s.get('success', 0)}/{INTERVALS} runs succeeded ({s})")
    for part in ("interactions", "agent_statuses"):
        for key in ("missing", "unexpected", "mismatched", "duplicates"):
            if r[part][key]:
                problems.append(f"{part}: {r[part][key]} {key}")
    if r["interactions"]["aht_mismatches"]:
        problems.append(f"AHT: {r['interactions']['aht_mismatches']} mismatches")
    if r["interactions"]["aht_duplicates"]:
        problems.append(f"AHT: {r['interactions']['aht_duplicates']} duplicates")
    if r["rejected"]["unaccounted"] or r["rejected"]["injected_not_quarantined"]:
        problems.append(f"rejected rows not accounted for: {r['rejected']}")
    if r["alerts"]:
        problems.append(f"{r['alerts']} alerts sent")
    if r["api"]["http_429_honoured"] != r["api"]["http_429_judged"]:
        problems.append("a 429 was retried before Retry-After")
    return problems


def _table(results: dict[str, Any]) -> str:
    names = [t.name for t in TENANTS]
    per = results["integrations"]

    def row(label: str, value: Any) -> str:
        return f"| {label} | " + " | ".join(str(value(per[n])) for n in names) + " |"

    def runs(r: dict[str, Any], kind: str) -> str:
        s = r["airflow"]["runs"].get(f"{r['name']}__{kind}", {})
        return f"{INTERVALS} / {s.get('success', 0)}"

    lines = [
        "| | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
        row(
            "region, tenant zone",
            lambda r: (
                f"{r['region'].upper()}, {r['timezone']}" + (" (X-Tenant-Info)" if r["multi_tenant"] else "")
            ),
        ),
        row("intervals expected / loaded (interactions)", lambda r: runs(r, "interactions")),
        row("intervals expected / loaded (agent statuses)", lambda r: runs(r, "agent_status")),
        row(
            "interactions expected / loaded",
            lambda r: f"{r['interactions']['expected']:,} / {r['interactions']['loaded']:,}",
        ),
        row(
            "missing / unexpected / mismatched / duplicated",
            lambda r: "{missing} / {unexpected} / {mismatched} / {duplicates}".format(**r["interactions"]),
        ),
        row(
            "AHT rows / mismatches",
            lambda r: f"{r['interactions']['aht_rows']:,} / {r['interactions']['aht_mismatches']}",
        ),
        row(
            "agent statuses expected / loaded",
            lambda r: f"{r['agent_statuses']['expected']:,} / {r['agent_statuses']['loaded']:,}",
        ),
        row(
            "status missing / unexpected / mismatched / duplicated",
            lambda r: "{missing} / {unexpected} / {mismatched} / {duplicates}".format(**r["agent_statuses"]),
        ),
        row(
            "rows quarantined / unaccounted / injected but not quarantined / identical, held once",
            lambda r: (
                "{quarantined} / {unaccounted} / {injected_not_quarantined} / {identical_rows_collapsed}"
            ).format(**r["rejected"]),
        ),
        row(
            "quarantine reasons",
            lambda r: "<br>".join(f"{n} {k}" for k, n in r["rejected"]["reasons"].items()),
        ),
        row("null-queue malformations filtered", lambda r: r["interactions"]["filtered_malformed"]),
        row(
            "API requests served / faulted",
            lambda r: (
                f"{r['api']['served']:,} / {sum(r['api']['faults'].values()):,}"
                f" ({r['api']['fault_share']:.1%})"
            ),
        ),
        row("faults injected", lambda r: ", ".join(f"{k} {n}" for k, n in r["api"]["faults"].items())),
        row(
            "client requests / retried (successful tries)",
            lambda r: f"{r['api']['client_requests']:,} / {r['api']['client_retries']:,}",
        ),
        row(
            "429s served / honoured (of judged)",
            lambda r: (
                f"{r['api']['http_429']} / {r['api']['http_429_honoured']} (of {r['api']['http_429_judged']})"
            ),
        ),
        row(
            "task retries",
            lambda r: f"{r['airflow']['task_retries']} " + str(r["airflow"]["task_retries_by_task"] or ""),
        ),
        row("alerts sent", lambda r: r["alerts"]),
        row("meets the bar", lambda r: "yes" if not r["problems"] else "**no**"),
    ]
    return "\n".join(lines)


def main() -> int:
    global INTERVALS, OUT_DIR, WORK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="interactions per day per tenant [100000]")
    parser.add_argument("--agents", type=int, default=300, help="agents per tenant [300]")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of requests that fail [0.05]")
    parser.add_argument("--malformed-rate", type=float, default=0.002, help="share of malformed rows [0.002]")
    parser.add_argument("--hours", type=int, default=24, help="hours of the day to import [24]")
    parser.add_argument("--parallelism", type=int, default=8, help="LocalExecutor worker processes [8]")
    parser.add_argument("--no-preload", dest="preload", action="store_false", help="no local settings")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds to wait for the runs")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"results and work files [{OUT_DIR}]")
    args = parser.parse_args()
    INTERVALS = args.hours * 4
    OUT_DIR = args.out.resolve()
    WORK = OUT_DIR / "tmp" / "soak"

    # The 24 hours up to an hour ago: recent data, not final yet, so every run reads its full
    # look-back (and the 02:00 settle run its 48 hours) as on any ordinary day; data older than the
    # settle look-back would be read once. The simulators' clocks stay at this moment (8x8's state
    # as of then): every run sees the same state, and the ground truth is that state.
    frozen = datetime.now(UTC).replace(microsecond=0)
    day = frozen.replace(minute=0, second=0) - timedelta(hours=25)
    end = day + INTERVALS * FIFTEEN
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "dags").mkdir(parents=True)
    shutil.copy(REPO / "dags" / "acdflow_integrations.py", WORK / "dags")
    print(
        f"soak: {len(TENANTS)} integrations x {INTERVALS} intervals from {day:%Y-%m-%d %H:%M} UTC, "
        f"{args.scale:,} interactions/day and {args.agents} agents each, "
        f"{args.fault_rate:.0%} of requests faulted",
        flush=True,
    )
    began = time.monotonic()
    with _stack(args, day, frozen) as (airflow, uri, sims, receiver):
        setup = time.monotonic() - began
        dag_ids = [f"{t.name}__{kind}" for t in TENANTS for kind in KINDS]
        airflow.set_paused(dag_ids, paused=False)
        started = time.monotonic()
        states = _wait(airflow, dag_ids, args.timeout)
        imported = time.monotonic() - started
        print(f"  all runs finished in {imported / 60:.1f} min; comparing with the ground truth", flush=True)
        results: dict[str, Any] = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "day": day.isoformat(),
            "intervals": INTERVALS,
            "scale": args.scale,
            "agents": args.agents,
            "fault_spec": FAULTS.format(
                rate=args.fault_rate, malformed=args.malformed_rate, seed="<per tenant>"
            ),
            "lookback_minutes": LOOKBACK_MINUTES,
            "settle_lookback_hours": SETTLE_LOOKBACK_HOURS,
            "preload": args.preload,
            "parallelism": args.parallelism,
            "integrations": {},
        }
        for tenant in TENANTS:
            sim = sims[tenant.name]
            interactions, statuses = _compared(uri, sim, tenant, day, end)
            r: dict[str, Any] = {
                "name": tenant.name,
                "region": tenant.region,
                "timezone": tenant.timezone,
                "multi_tenant": bool(tenant.neighbours),
                "interactions": interactions,
                "agent_statuses": statuses,
                "rejected": _rejections(uri, sim, tenant, day, end),
                "api": _api(uri, sim, tenant),
                "airflow": _airflow(airflow, uri, tenant, states),
                "alerts": sum(1 for b in receiver.received() if b.get("integration") == tenant.name),
            }
            r["problems"] = _meets_bar(r)
            results["integrations"][tenant.name] = r
    results["setup_seconds"] = round(setup)
    results["import_seconds"] = round(imported)
    results["total_seconds"] = round(time.monotonic() - began)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "soak.json").write_text(json.dumps(results, indent=2, default=str))
    table = _table(results)
    (OUT_DIR / "soak.md").write_text(table + "\n")
    print(table)
    print(
        f"\nimport {imported / 60:.1f} min (all {INTERVALS * len(dag_ids)} runs), "
        f"{results['total_seconds'] / 60:.1f} min in all with start-up and comparison"
    )
    problems = [f"{n}: {p}" for n, r in results["integrations"].items() for p in r["problems"]]
    for problem in problems:
        print(f"  BAR NOT MET: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
