"""The shipped ``config/airflow_local_settings.py``: Airflow's scheduler and Celery workers, which
fork every task process, import Great Expectations once at start; the other components do not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acdflow.preload import forks_task_processes
from tests.conftest import REPO_ROOT

PROBE = """
import json, sys
sys.argv = ["airflow", *sys.argv[1:]]
import airflow  # initialises Airflow's settings, which imports airflow_local_settings
print(json.dumps([m for m in ("great_expectations", "pandas", "acdflow.quality.drift") if m in sys.modules]))
"""


def _loaded_after_airflow_start(tmp_path: Path, *command: str) -> list[str]:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "config" / "airflow_local_settings.py", home / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *command], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("command", [("scheduler",), ("celery", "worker", "--concurrency", "4")])
def test_processes_that_fork_tasks_start_with_the_task_libraries(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    assert _loaded_after_airflow_start(tmp_path, *command) == [
        "great_expectations",
        "pandas",
        "acdflow.quality.drift",
    ]


@pytest.mark.parametrize("command", [("dag-processor",), ("triggerer",)])
def test_other_components_do_not_pay_for_them(tmp_path: Path, command: tuple[str, ...]) -> None:
    assert _loaded_after_airflow_start(tmp_path, *command) == []


@pytest.mark.parametrize(
    ("argv", "forks"),
    [
        (["/usr/local/bin/airflow", "scheduler"], True),
        (["/venv/lib/python3.11/site-packages/airflow/__main__.py", "scheduler", "--skip-serve-logs"], True),
        (["airflow", "celery", "worker", "--celery-hostname", "w1"], True),
        (["airflow", "celery", "flower"], False),
        (["airflow", "dag-processor"], False),
        (["airflow"], False),
        (["airflow", "--help"], False),
    ],
)
def test_which_command_lines_fork_tasks(argv: list[str], forks: bool) -> None:
    assert forks_task_processes(argv) is forks
