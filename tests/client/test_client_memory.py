"""Streaming a large report keeps memory bounded by a page, not by the report.

The simulator runs in a child process here: tracemalloc counts every thread of this process, and
the simulator's own caches must not be mistaken for the client's memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from itertools import islice

import pytest

from acdflow.eightbyeight import EightByEightClient, EightByEightSettings
from acdflow.eightbyeight.client import INTERACTION_DETAILS

from .conftest import CLIENT_ID, CLIENT_SECRET, SIM_NOW

SERVE_SIM = """
import json, sys
from datetime import datetime
from acdflow_dev.sim import SimConfig, Simulator
args = json.loads(sys.argv[1])
config = SimConfig.single(
    seed=11, client_id=args["client_id"], client_secret=args["client_secret"],
    now=datetime.fromisoformat(args["now"]), scale=args["scale"], timezone=args["timezone"],
)
with Simulator(config).serve(host="127.0.0.1", port=0) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
"""
TZ = "America/Los_Angeles"


@pytest.fixture(scope="module")
def big_sim_url() -> Iterator[str]:
    args = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "now": SIM_NOW.isoformat(),
        # Mean interactions per day: one local day then holds comfortably more than 25,000.
        "scale": 28_000,
        "timezone": TZ,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SIM, json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), "simulator child process did not start"
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_while_streaming(client: EightByEightClient, report_id: int, limit: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        count = sum(1 for _ in islice(client.iter_detailed_rows(report_id), limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_memory_while_streaming_25000_rows_is_bounded_by_a_page(big_sim_url: str) -> None:
    settings = EightByEightSettings(
        CLIENT_ID, CLIENT_SECRET, "us", TZ, base_url=big_sim_url, timeout_s=60, backoff_base_s=0.01
    )
    with EightByEightClient(settings) as client:
        report_id = client.create_detailed_report(
            INTERACTION_DETAILS,
            start="2025-11-17T00:00:00.000Z",
            end="2025-11-17T23:59:59.999Z",
            timezone=TZ,
            metrics=["interactionId", "time", "queueName", "queueTime", "direction", "mediaType"],
        )
        first = next(client.iter_detailed_pages(report_id))
        total = first.total_elements
        assert total is not None
        assert total >= 25_000
        del first
        # Warm-up done (connection pool, imports); now compare a tenth of the report with all of it.
        small_count, small_peak = peak_while_streaming(client, report_id, 2_500)
        big_count, big_peak = peak_while_streaming(client, report_id, total)
    assert small_count == 2_500
    assert big_count == total
    # Ten times the rows must not mean meaningfully more memory: both hold about one page.
    print(f"rows {total}: peak {small_peak} B for 2,500 rows, {big_peak} B for all")
    assert big_peak < 1.5 * small_peak, (small_peak, big_peak)
