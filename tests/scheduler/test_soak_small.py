"""The soak run (``make soak``) at a small scale, so the script that proves the bar keeps working.

It runs ``bench/soak.py`` as users do, for one hour of three integrations under a real scheduler,
with enough faults and malformed rows that each kind of defence is exercised, and checks the
results it writes: every figure compared with the simulator's ground truth, and the bar met.

Opt-in (``make test-e2e``): it takes a few minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[2]


def test_small_soak_meets_the_bar(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "soak.py"),
            "--hours=1",
            "--scale=8000",
            "--agents=30",
            "--fault-rate=0.1",
            "--malformed-rate=0.05",
            "--parallelism=4",
            "--timeout=1200",
            f"--out={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=1400,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((tmp_path / "soak.json").read_text())
    assert results["intervals"] == 4
    per = results["integrations"]
    assert set(per) == {"soak_chicago", "soak_berlin", "soak_sydney"}
    for name, r in per.items():
        assert r["problems"] == [], name
        ix, st, rejected = r["interactions"], r["agent_statuses"], r["rejected"]
        assert ix["expected"] > 0, name
        assert ix["loaded"] == ix["expected"], name
        assert (ix["missing"], ix["unexpected"], ix["mismatched"], ix["duplicates"]) == (0, 0, 0, 0)
        assert ix["aht_rows"] > 0, name
        assert ix["aht_mismatches"] == 0, name
        assert st["expected"] > 0, name
        assert st["loaded"] == st["expected"], name
        assert (st["missing"], st["unexpected"], st["mismatched"], st["duplicates"]) == (0, 0, 0, 0)
        assert (rejected["unaccounted"], rejected["injected_not_quarantined"]) == (0, 0), name
        assert r["alerts"] == 0, name
        # The one FAILED report per integration is absorbed by a retry of the task that created it.
        assert r["airflow"]["task_retries_by_task"].get("trigger_report", 0) >= 1, name
    # The defences were exercised, not idle: faults were served and malformed rows quarantined.
    assert sum(sum(r["api"]["faults"].values()) for r in per.values()) > 0
    assert sum(r["rejected"]["quarantined"] for r in per.values()) > 0
    assert (tmp_path / "soak.md").read_text().count("| meets the bar | yes | yes | yes |") == 1
