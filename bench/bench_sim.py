"""Simulator benchmark: detailed-report rows served per second over real HTTP (not a test).

One simulator at 100,000 interactions/day (the soak's scale) with the soak's malformed-row rate,
read with ``requests`` the way the product client reads it: the product's metrics, participants
included, pages of 1,000 rows followed by ``lastDocumentId``. Each report is read twice, cold
(the day is generated and rendered for the first time) and warm (a new report over the same window,
as the product's look-back re-reads), for:

* a 4-hour interactions report (the default look-back),
* a 48-hour interactions report (the default daily settle run),
* a 4-hour agent-status report.

Baselines measured in the same run on the same rows: ``json.dumps`` of the rows (what the
simulator would pay just to serialise them per request) and rendering them the slow way
(``render_page``: model → row dicts → ``json.dumps``), which every page cost before pages were
joined from cached fragments.

    .venv/bin/python bench/bench_sim.py [--scale 100000] [--agents 300]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from acdflow.pipeline.agent_status import METRICS as STATUS_METRICS
from acdflow.pipeline.interactions import METRICS as INTERACTION_METRICS
from acdflow_dev.sim import SimConfig, Simulator
from acdflow_dev.sim.config import TenantConfig

INTERACTIONS = "detailed-reports-interaction-details"
AGENT_STATUS = "detailed-reports-agent-status-change"
TENANT = "benchsim01"
PAGE_SIZE = 1000  # acdflow.eightbyeight.client.MAX_PAGE_SIZE, what the product pages with
NOW = datetime(2026, 11, 12, 6, 0, tzinfo=UTC)  # the day read below is final by then
END = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # local evening in Chicago: 4 busy hours before it


class Reader:
    def __init__(self, base_url: str) -> None:
        self.session = requests.Session()
        self.hist = f"{base_url}/analytics/cc/v8/historical-metrics"
        token = self.session.post(
            f"{base_url}/oauth/v2/token",
            auth=("bench-client", "bench-secret"),
            data={"grant_type": "client_credentials"},
            timeout=30,
        ).json()["access_token"]
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def create(self, report_type: str, hours: int, metrics: tuple[str, ...]) -> int:
        start = END - timedelta(hours=hours)
        body: dict[str, Any] = {
            "type": report_type,
            "title": "bench",
            "timezone": "America/Chicago",
            # The time-zone quirk reads dateRange as Chicago wall-clock time.
            "dateRange": {
                "start": start.astimezone(_chicago()).strftime("%Y-%m-%dT%H:%M:%S"),
                "end": END.astimezone(_chicago()).strftime("%Y-%m-%dT%H:%M:%S"),
            },
            "metrics": list(metrics),
            "includeParticipants": report_type == INTERACTIONS,
        }
        response = self.session.post(f"{self.hist}/detailed-reports", json=body, timeout=600)
        response.raise_for_status()
        return int(response.json()["id"])

    def pages(self, report_id: int) -> tuple[int, list[bytes]]:
        """Rows read and the raw page bodies, following ``Last-Document-Id``."""
        url = f"{self.hist}/detailed-reports/{report_id}/data"
        params: dict[str, str] = {"size": str(PAGE_SIZE)}
        bodies: list[bytes] = []
        rows = 0
        while True:
            response = self.session.get(url, params=params, timeout=600)
            response.raise_for_status()
            bodies.append(response.content)
            total = int(response.headers["X-Total-Elements"])
            rows += min(PAGE_SIZE, total - rows)
            cursor = response.headers.get("Last-Document-Id")
            if cursor is None:
                return rows, bodies
            params = {"size": str(PAGE_SIZE), "lastDocumentId": cursor}


def _chicago() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/Chicago")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f} rows/s" if seconds > 0 else "         - rows/s"


def _slow_render_seconds(sim: Simulator, report_id: int) -> float | None:
    """Time to render every page of a report the slow way (no fragment cache), in process."""
    from acdflow_dev.sim import reports

    render_page = getattr(reports, "render_page", None)
    if render_page is None:
        return None
    report = sim.reports.get_detailed(report_id, TENANT, sim.clock.now_ms())
    rows = report.rows
    started = time.perf_counter()
    for first in range(0, report.total, PAGE_SIZE):
        render_page(report, rows[first : first + PAGE_SIZE])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="interactions per day [100000]")
    parser.add_argument("--agents", type=int, default=300, help="agents [300]")
    args = parser.parse_args()
    sim = Simulator(
        SimConfig(
            seed=41,
            client_id="bench-client",
            client_secret="bench-secret",  # noqa: S106 - the simulator's own test credential
            tenants=(TenantConfig(TENANT, "us", "America/Chicago", scale=args.scale, agents=args.agents),),
            faults="malformed_rate=0.002;seed=41",
            now=NOW,
        )
    )
    cases = (
        ("interactions 4 h", INTERACTIONS, 4, INTERACTION_METRICS),
        ("interactions 48 h", INTERACTIONS, 48, INTERACTION_METRICS),
        ("agent status 4 h", AGENT_STATUS, 4, STATUS_METRICS),
    )
    print(f"scale {args.scale:,}/day, {args.agents} agents, page size {PAGE_SIZE}")
    with sim.serve() as server:
        reader = Reader(server.base_url)
        for label, report_type, hours, metrics in cases:
            timings: dict[str, tuple[int, float, float]] = {}
            bodies: list[bytes] = []
            report_id = 0
            for run in ("cold", "warm"):
                started = time.perf_counter()
                report_id = reader.create(report_type, hours, metrics)
                created = time.perf_counter()
                rows, bodies = reader.pages(report_id)
                timings[run] = (rows, created - started, time.perf_counter() - created)
            rows = timings["warm"][0]
            parsed = [json.loads(body) for body in bodies]
            started = time.perf_counter()
            for page in parsed:
                json.dumps(page)
            dumps = time.perf_counter() - started
            slow = _slow_render_seconds(sim, report_id)
            print(f"{label}: {rows:,} rows in {len(bodies)} pages")
            for run, (count, create, paging) in timings.items():
                print(
                    f"  HTTP {run:<14} {_rate(count, create + paging)}  (create {create:.2f} s"
                    f" + pages {paging:.2f} s; pages alone {_rate(count, paging).strip()})"
                )
            print(f"  json.dumps only     {_rate(rows, dumps)}  (baseline: serialising the rows)")
            if slow is not None:
                print(f"  slow render         {_rate(rows, slow)}  (baseline: rows rendered per request)")


if __name__ == "__main__":
    main()
