"""``acdflow-dev sim serve`` as a real subprocess (the installed console script)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import Api

SCRIPT = Path(sys.executable).with_name("acdflow-dev")


@pytest.fixture
def process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [
        str(SCRIPT), "sim", "serve", "--port", "0", "--client-id", "cli-id", "--client-secret", "cli-secret",
        "--region", "eu", "--seed", "4", "--scale", "300", "--tz", "Europe/Berlin", "--tenant-id", "berlin01",
        "--extra-tenant", "paris01:eu:Europe/Paris", "--now", "2026-03-10T12:00:00Z",
        "--faults", "latency_ms=1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving http://127.0.0.1:" in line, line + (proc.stderr.read() if proc.stderr else "")
        url = line.split("serving ")[1].split()[0]
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_cli_serves_configured_world_and_stops_on_sigterm(process: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = process
    api = Api(url, "/eu", "paris01")
    assert api.fetch_token().status_code == 401  # default credential is replaced
    response = api.fetch_token(("cli-id", "cli-secret"))
    assert response.status_code == 200
    api._token = response.json()["access_token"]
    agents = api.get(f"{api.rt}/agents", params={"summary": "true"})
    assert agents.status_code == 200
    assert agents.json()
    missing = requests.get(f"{api.rt}/agents", headers={"Authorization": f"Bearer {api._token}"}, timeout=5)
    assert missing.json() == {"message": "Bad request: X-Tenant-Info header is missing."}
    clock = requests.get(f"{url}/_sim/clock", timeout=5).json()
    assert clock == {"now": "2026-03-10T12:00:00+00:00", "fixed": True}
    assert requests.get(f"{url}/_sim/faults", timeout=5).json()["spec"] == "latency_ms=1"
    report = api.create(
        {"type": "detailed-reports-interaction-details", "title": "cli",
         "dateRange": {"start": "2026-03-10T08:00:00.000Z", "end": "2026-03-10T09:00:00.000Z"}}
    )  # fmt: skip
    assert report.status_code == 200
    rows = api.data(report.json()["id"]).json()
    assert rows
    times = [next(i["value"] for i in r["items"] if i["key"] == "time") for r in rows]
    assert all(t.endswith("+01:00") for t in times)  # Paris in March, quirk on by default
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_cli_help_and_bad_arguments() -> None:
    help_text = subprocess.run(
        [str(SCRIPT), "sim", "serve", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--port", "--no-quirk", "--extra-tenant", "--faults", "--now", "--scale", "--tz"):
        assert option in help_text.stdout
    bad = subprocess.run(
        [str(SCRIPT), "sim", "serve", "--port", "0", "--tz", "Mars/Base"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "Mars/Base" in bad.stderr
    assert bad.returncode != 0
