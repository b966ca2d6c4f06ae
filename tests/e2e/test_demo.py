"""``make demo`` end to end, as a newcomer runs it: a separate process, no configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(900)


def test_demo_imports_an_hour_and_reports_it(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "acdflow_dev.cli", "demo", "run", "--hours", "1", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    # 4 intervals x (interactions, agent status) + one live-status poll, with progress on the way.
    assert "runs: 9/9 succeeded" in out
    assert len(re.findall(r"^\[\s*[\d.]+ s\] +\d/4 demo__interactions .* success", out, re.M)) == 4
    # acdflow's own request accounting agrees with what the simulator served.
    counted = re.search(r"API requests: (\d+) counted by acdflow; (\d+) served by the simulator", out)
    assert counted, out[-3000:]
    assert int(counted.group(1)) == int(counted.group(2)) > 0
    # Every channel arrived, and no drift check failed.
    interactions = out.split("Interactions per channel and queue")[1].split("Average handle time")[0]
    assert {"call", "chat", "email"} <= set(re.findall(r"^  (call|chat|email) ", interactions, re.M))
    drift = out.split("Time-drift checks")[1].split("8x8 API requests")[0]
    rows = re.findall(r"^  (window|offset|live_vs_history) +(\d+) +(\d+)", drift, re.M)
    assert {name for name, _, _ in rows} == {"window", "offset", "live_vs_history"}
    assert all(int(passed) == 4 and int(failed) == 0 for _, passed, failed in rows), rows
    live = out.split("Agent statuses now (live):")[1].split("Time-drift")[0]
    assert re.search(r"^  \S.* +\d+\s*$", live, re.M), live
    # The chart is a real PNG of the size the demo draws.
    from PIL import Image

    chart = root / "acdflow-demo.png"
    assert str(chart) in out
    with Image.open(chart) as image:
        assert image.format == "PNG"
        assert image.size == (900, 450)
