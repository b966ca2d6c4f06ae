from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from acdflow.config import load_config
from acdflow_dev.sim import SimConfig, Simulator
from tests.conftest import REPO_ROOT, airflow_env


def _acdflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acdflow.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **airflow_env(), **(env or {})},
        check=False,
    )


@pytest.fixture
def yaml_file(tmp_path: Path) -> Path:
    path = tmp_path / "integrations.yaml"
    shutil.copy(REPO_ROOT / "include" / "integrations.yaml", path)
    return path


def test_add_appends_a_valid_entry_and_keeps_the_comments(yaml_file: Path) -> None:
    out = _acdflow(
        "integrations",
        "add",
        "acme_us",
        "--connection",
        "eightbyeight_acme",
        "--start-date",
        "2026-11-01",
        "--file",
        str(yaml_file),
    )
    assert out.returncode == 0, out.stderr
    assert "acme_us__interactions" in out.stdout
    text = yaml_file.read_text()
    assert "# acdflow integrations: one entry per 8x8 tenant" in text  # comments survive
    assert "acme_us__history" not in out.stdout
    out = _acdflow(
        "integrations",
        "add",
        "beta_eu",
        "--connection",
        "eightbyeight_beta",
        "--history-start-date",
        "2025-01-01",
        "--file",
        str(yaml_file),
    )
    assert out.returncode == 0, out.stderr
    assert "beta_eu__history (from 2025-01-01)" in out.stdout
    result = load_config(yaml_file)
    assert result.issues == ()
    assert [(s.name, s.conn_id) for s in result.integrations] == [
        ("acme_us", "eightbyeight_acme"),
        ("beta_eu", "eightbyeight_beta"),
    ]
    assert result.integrations[0].start_date.isoformat() == "2026-11-01T00:00:00+00:00"
    assert [s.history_start_date for s in result.integrations] == [None, datetime(2025, 1, 1, tzinfo=UTC)]
    # A history start that is not a whole UTC day is refused before anything is written.
    before = yaml_file.read_text()
    bad = _acdflow(
        "integrations",
        "add",
        "gamma",
        "--connection",
        "c",
        "--history-start-date",
        "2025-01-01T06:00",
        "--file",
        str(yaml_file),
    )
    assert bad.returncode != 0
    assert "history_start_date" in bad.stderr
    assert yaml_file.read_text() == before


def test_add_refuses_duplicates_and_bad_names(yaml_file: Path) -> None:
    assert (
        _acdflow("integrations", "add", "acme", "--connection", "c1", "--file", str(yaml_file)).returncode
        == 0
    )
    before = yaml_file.read_text()
    dup = _acdflow("integrations", "add", "acme", "--connection", "c2", "--file", str(yaml_file))
    assert dup.returncode != 0
    assert "already exists" in dup.stderr
    bad = _acdflow("integrations", "add", "Acme; DROP", "--connection", "c2", "--file", str(yaml_file))
    assert bad.returncode != 0
    assert "field 'name'" in bad.stderr
    assert yaml_file.read_text() == before  # nothing written on refusal


@pytest.fixture
def sim_url() -> Iterator[str]:
    sim = Simulator(
        SimConfig.single(
            client_id="check-id", client_secret="check-secret-7781", region="eu", timezone="Europe/Helsinki"
        )
    )
    with sim.serve(host="127.0.0.1", port=0) as server:
        yield server.base_url


def test_check_authenticates_each_integration(tmp_path: Path, sim_url: str) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "integrations": [
                    {"name": "good", "conn_id": "eightbyeight_good", "start_date": "2026-11-01"},
                    {"name": "wrong_secret", "conn_id": "eightbyeight_bad", "start_date": "2026-11-01"},
                    {"name": "wrong_region", "conn_id": "eightbyeight_region", "start_date": "2026-11-01"},
                    {"name": "off", "conn_id": "nothing", "start_date": "2026-11-01", "enabled": False},
                    {"name": "Broken", "conn_id": "x", "start_date": "2026-11-01"},
                ]
            }
        )
    )

    def conn(secret: str, region: str = "eu") -> str:
        return json.dumps(
            {
                "conn_type": "eightbyeight",
                "login": "check-id",
                "password": secret,
                "host": sim_url,
                "extra": {"region": region, "timezone": "Europe/Helsinki"},
            }
        )

    env = {
        "AIRFLOW_CONN_EIGHTBYEIGHT_GOOD": conn("check-secret-7781"),
        "AIRFLOW_CONN_EIGHTBYEIGHT_BAD": conn("not-the-secret-4412"),
        "AIRFLOW_CONN_EIGHTBYEIGHT_REGION": conn("check-secret-7781", region="us"),
    }
    out = _acdflow("integrations", "check", "--file", str(path), env=env)
    assert out.returncode == 1
    lines = {line.split(":", 1)[0]: line for line in out.stdout.splitlines()}
    assert lines["good"].startswith("good: OK")
    assert lines["wrong_secret"].startswith("wrong_secret: FAILED")
    assert lines["wrong_region"].startswith("wrong_region: FAILED")
    assert lines["off"] == "off: disabled"
    assert any(
        line.startswith("INVALID integrations[4]") and "field 'name'" in line
        for line in out.stdout.splitlines()
    )
    assert "not-the-secret-4412" not in out.stdout + out.stderr
    assert "check-secret-7781" not in out.stdout + out.stderr
