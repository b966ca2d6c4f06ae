"""The product as a user installs it: the wheel, in a virtualenv of its own outside the repository.

The wheel is built from this checkout, installed with the exact pins of ``requirements.txt`` into a
fresh virtualenv (no system site-packages) in a temporary folder outside the repository, and used
from there with an empty working directory and an Airflow home that holds only copies of the
``dags/*.py`` files: no ``plugins/``, no ``include/``, no ``acdflow_dev``. The DAG folder must parse
into the integration's three DAGs, and one interval of ``<name>__interactions`` run with
``dag.test()`` in that virtualenv's Python must load exactly the simulator's ground truth into the
warehouse. The simulator runs in this test process (``acdflow_dev.sim``, as in ``tests/e2e``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.harness import FIFTEEN, Pipeline, compare_with_truth, start_pipeline, utc

pytestmark = pytest.mark.timeout(900)

UV = REPO_ROOT / ".tools" / "bin" / "uv"
NAME = "installed"
DAG_IDS = sorted(
    ["acdflow_maintenance", *(f"{NAME}__{kind}" for kind in ("interactions", "agent_status", "live_status"))]
)
# One interval of the tenant's business day (10:00 in Helsinki), with traffic in every interval.
TIMEZONE, REGION, INTERVAL_START = "Europe/Helsinki", "eu", utc("2026-11-10T08:00:00+00:00")
# Names of development-only code that must never ship in the product wheel.
DEV_ONLY = ("acdflow_dev", "sim/", "embedded")
DEV_DEPENDENCIES = ("pgserver", "matplotlib", "selenium", "pytest", "hypothesis", "aiosmtpd", "acdflow-dev")
# Printed by the scripts run in the virtualenv, in front of their one-line JSON report.
MARK = "ACDFLOW-WHEEL-REPORT "


@dataclass(frozen=True)
class Installed:
    """The wheel installed into a virtualenv outside the repository."""

    root: Path  # the temporary folder holding everything below
    wheel: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.venv / "lib" / version / "site-packages"


class InstalledPipeline(Pipeline):
    """The harness's pipeline with the warehouse under the connection id a deployment uses."""

    @property
    def warehouse_conn_id(self) -> str:
        return "wfm_warehouse"


def _run(command: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
    return result


def _uv_env() -> dict[str, str]:
    # Only explicit paths decide where uv builds and installs, never an activated environment.
    drop = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX", "PYTHONPATH"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A temporary folder outside the repository (pytest's ``--basetemp`` may lie inside it)."""
    root = Path(tempfile.mkdtemp(prefix="acdflow-wheel-", dir=tempfile.gettempdir())).resolve()
    try:
        assert not root.is_relative_to(REPO_ROOT.resolve()), f"{root} lies inside the repository"
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(outside: Path) -> Installed:
    assert UV.exists(), f"{UV} is missing: run `make venv` first"
    dist = outside / "dist"
    _run(
        [
            str(UV),
            "build",
            "--wheel",
            "--no-build-isolation",
            "--offline",
            "--package",
            "acdflow",
            "--python",
            sys.executable,
            "-o",
            str(dist),
        ],
        cwd=REPO_ROOT,
        env=_uv_env(),
        timeout=300,
    )
    (wheel,) = dist.glob("acdflow-*.whl")
    venv = outside / "venv"
    _run([str(UV), "venv", "--python", sys.executable, str(venv)], cwd=outside, env=_uv_env(), timeout=120)
    _run(
        [
            str(UV),
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(REPO_ROOT / "requirements.txt"),
            str(wheel),
        ],
        cwd=outside,
        env=_uv_env(),
        timeout=900,
    )
    return Installed(root=outside, wheel=wheel, venv=venv)


@pytest.fixture(scope="module")
def airflow_home(installed: Installed) -> Path:
    """An Airflow home holding only ``dags/`` with copies of the repository's DAG files."""
    home = installed.root / "airflow-home"
    (home / "dags").mkdir(parents=True)
    for dag_file in sorted((REPO_ROOT / "dags").glob("*.py")):
        shutil.copy(dag_file, home / "dags" / dag_file.name)
    return home


@pytest.fixture(scope="module")
def workdir(installed: Installed) -> Path:
    """The empty folder every command in the virtualenv runs in."""
    path = installed.root / "cwd"
    path.mkdir()
    return path


def _venv_env(installed: Installed, airflow_home: Path, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of this test session (no PYTHONPATH, no AIRFLOW__ settings
    pointing at the repository), only what a deployment of the wheel would set."""
    home = installed.root / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{installed.venv / 'bin'}{os.pathsep}{os.defpath}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **extra,
    }


def _run_in_venv(
    installed: Installed, workdir: Path, env: dict[str, str], script: str, *args: str, timeout: float
) -> dict[str, Any]:
    assert not any(workdir.iterdir()), f"the working directory is not empty: {sorted(workdir.iterdir())}"
    result = _run(
        [str(installed.python), "-c", textwrap.dedent(script), *args], cwd=workdir, env=env, timeout=timeout
    )
    reports = [line[len(MARK) :] for line in result.stdout.splitlines() if line.startswith(MARK)]
    assert reports, f"no report in the output:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    report: dict[str, Any] = json.loads(reports[-1])
    report["_output"] = (result.stdout + result.stderr)[-6000:]
    return report


@pytest.fixture
def pipe(
    request: pytest.FixtureRequest, installed: Installed, warehouse_uri: str, fresh_schema: str
) -> InstalledPipeline:
    """One integration whose 8x8 connection points at a simulator served by this test process."""
    config_dir = installed.root / f"config-{fresh_schema}"
    config_dir.mkdir()
    pipeline: InstalledPipeline = start_pipeline(
        request,
        config_dir,
        warehouse_uri,
        fresh_schema,
        name=NAME,
        timezone=TIMEZONE,
        region=REGION,
        # Well after the interval, so every interaction of it has finished.
        clock=INTERVAL_START + FIFTEEN + timedelta(hours=4),
        pipeline_cls=InstalledPipeline,
    )
    env = pipeline.env()
    assert set(env) == {
        f"AIRFLOW_CONN_{pipeline.conn_id.upper()}",
        "AIRFLOW_CONN_WFM_WAREHOUSE",
        "ACDFLOW_INTEGRATIONS",
    }
    return pipeline


def test_wheel_holds_the_package_and_its_data_and_nothing_of_development(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
        (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()

    package = REPO_ROOT / "plugins" / "acdflow"
    sources = {
        "acdflow/" + p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts and p.relative_to(package).parts[0] != "include"
    }
    include = REPO_ROOT / "include"
    sql = {"acdflow/include/" + p.relative_to(include).as_posix() for p in _files("sql", "*.sql")}
    suites = {
        "acdflow/include/" + p.relative_to(include).as_posix()
        for p in _files("great_expectations/expectations", "*.json")
    }
    assert sql, "no SQL files under include/sql"
    assert suites, "no expectation suites under include/great_expectations/expectations"
    expected = sources | sql | suites | {"acdflow/include/integrations.yaml"}
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"

    dev = sorted(n for n in names if any(marker in n for marker in DEV_ONLY))
    assert not dev, f"development code in the product wheel: {dev}"
    assert not [n for n in names if "/uncommitted/" in n or "__pycache__" in n or n.endswith(".pyc")]
    assert {n.split("/")[0] for n in names} == {"acdflow", dist_info}

    requires = [
        line.split(":", 1)[1].strip().lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert requires, "the wheel declares no dependencies"
    for dev_dependency in DEV_DEPENDENCIES:
        assert not [r for r in requires if r.lower().startswith(dev_dependency)], (dev_dependency, requires)
    assert "acdflow = acdflow.cli:main" in entry_points
    assert "provider_info = acdflow.provider:get_provider_info" in entry_points


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if match:
            pins[_normalize(match.group(1))] = match.group(2)
    assert "apache-airflow" in pins
    return pins


def _wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def _files(relative: str, pattern: str) -> list[Path]:
    return [p for p in (REPO_ROOT / "include" / relative).rglob(pattern) if p.is_file()]


def test_virtualenv_runs_the_installed_package_and_has_no_development_code(
    installed: Installed, airflow_home: Path, workdir: Path
) -> None:
    cfg = (installed.venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    env = _venv_env(installed, airflow_home, {})
    report = _run_in_venv(
        installed,
        workdir,
        env,
        f"""
        import importlib.metadata, importlib.util, json, sys
        from importlib.metadata import entry_points
        import acdflow, acdflow.resources as resources
        providers = entry_points(group="apache_airflow_provider")
        (provider,) = [e for e in providers if e.value.startswith("acdflow.")]
        connection_types = [c["connection-type"] for c in provider.load()()["connection-types"]]
        try:
            import acdflow_dev
            dev = acdflow_dev.__file__
        except ImportError as exc:
            dev = "ImportError: " + str(exc)
        print({MARK!r} + json.dumps({{
            "acdflow": acdflow.__file__,
            "acdflow_dev": dev,
            "pgserver": importlib.util.find_spec("pgserver") is not None,
            "sys_path": sys.path,
            "prefix": sys.prefix,
            "sql_dir": str(resources.sql_dir()),
            "gx_root": str(resources.gx_root()),
            "integrations": str(resources.integrations_file()),
            "connection_types": connection_types,
            "installed": {{d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}},
        }}))
        """,
        timeout=120,
    )
    site = installed.site_packages.resolve()
    module = Path(report["acdflow"]).resolve()
    assert module.is_relative_to(site), f"acdflow imported from {module}, not from {site}"
    assert not module.is_relative_to(REPO_ROOT.resolve())
    assert report["acdflow_dev"].startswith("ImportError"), report["acdflow_dev"]
    assert report["pgserver"] is False
    assert Path(report["prefix"]).resolve() == installed.venv.resolve()
    assert not [p for p in report["sys_path"] if p and Path(p).resolve().is_relative_to(REPO_ROOT.resolve())]
    assert report["connection_types"] == ["eightbyeight"]
    # Everything installed is pinned by requirements.txt, at that version: nothing came unpinned.
    pins = _pins(REPO_ROOT / "requirements.txt")
    installed_versions = {_normalize(k): v for k, v in report["installed"].items()}
    assert installed_versions.pop("acdflow") == _wheel_version(installed.wheel)
    unpinned = {k: v for k, v in installed_versions.items() if pins.get(k) != v}
    assert unpinned == {}, f"installed but not pinned so in requirements.txt: {unpinned}"
    cli = _run([str(installed.venv / "bin" / "acdflow"), "--help"], cwd=workdir, env=env, timeout=120)
    assert "usage: acdflow" in cli.stdout
    # Without ACDFLOW_* variables and with no include/ in AIRFLOW_HOME, the packaged copies are used.
    for key in ("sql_dir", "gx_root", "integrations"):
        assert Path(report[key]).resolve().is_relative_to(site / "acdflow" / "include"), report[key]
        assert Path(report[key]).exists(), report[key]


def test_dag_folder_parses_into_the_integrations_dags_and_the_maintenance_dag(
    installed: Installed, airflow_home: Path, workdir: Path, pipe: InstalledPipeline
) -> None:
    assert not (airflow_home / "plugins").exists()
    assert not (airflow_home / "include").exists()
    env = _venv_env(installed, airflow_home, pipe.env())
    report = _run_in_venv(
        installed,
        workdir,
        env,
        f"""
        import json
        from airflow.configuration import conf
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag()
        print({MARK!r} + json.dumps({{
            "dags_folder": conf.get("core", "dags_folder"),
            "dag_ids": sorted(bag.dag_ids),
            "errors": {{str(k): str(v) for k, v in bag.import_errors.items()}},
        }}))
        """,
        timeout=300,
    )
    assert Path(report["dags_folder"]).resolve() == (airflow_home / "dags").resolve()
    assert report["errors"] == {}, report["errors"]
    assert report["dag_ids"] == DAG_IDS, report["_output"]


def test_one_interval_of_interactions_matches_the_ground_truth(
    installed: Installed, airflow_home: Path, workdir: Path, pipe: InstalledPipeline
) -> None:
    env = _venv_env(installed, airflow_home, pipe.env())
    _run([str(installed.venv / "bin" / "airflow"), "db", "migrate"], cwd=workdir, env=env, timeout=600)
    logical_date = INTERVAL_START + FIFTEEN
    report = _run_in_venv(
        installed,
        workdir,
        env,
        f"""
        import json, sys
        from datetime import datetime
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag()
        assert not bag.import_errors, bag.import_errors
        dag = bag.dags[sys.argv[1]]
        run = dag.test(logical_date=datetime.fromisoformat(sys.argv[2]))
        print({MARK!r} + json.dumps({{
            "state": str(run.state),
            "start": run.data_interval_start.isoformat(),
            "end": run.data_interval_end.isoformat(),
        }}))
        """,
        f"{NAME}__interactions",
        logical_date.isoformat(),
        timeout=600,
    )
    assert report["state"] == "success", report["_output"]
    assert utc(report["start"]) == INTERVAL_START
    assert utc(report["end"]) == INTERVAL_START + FIFTEEN
    # The simulator served the run: the pipeline really went over HTTP to it.
    paths = [r.path for r in pipe.sim.request_log()]
    assert "/oauth/v2/token" in paths
    compare_with_truth(pipe, INTERVAL_START, INTERVAL_START + FIFTEEN)
    assert not any(workdir.iterdir()), f"files written to the working directory: {sorted(workdir.iterdir())}"
