"""The Airflow UI that ``make airflow`` serves, driven in headless Chromium.

A module fixture starts ``acdflow-dev demo airflow`` (embedded PostgreSQL, the 8x8 simulator and
``airflow standalone`` with the sample integration ``demo``) on a free port. The tests sign in through
the login form like a user, find the integration's three DAGs, trigger ``demo__interactions`` from
its Trigger dialog and wait for that run to succeed (seen in the UI, confirmed through the REST
API), and check the labelled fields of the 8x8 connection form.

The browser is Debian's ``chromium`` driven by Debian's ``chromedriver``, both named explicitly so
that Selenium Manager never runs (it would download a browser or driver). Without them the module
is skipped. Screenshots go to ``.acdflow/artifacts/browser/``, also when a step fails.

Opt-in (``make test-e2e``); starting Airflow and one run of the DAG take several minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from acdflow_dev.embedded import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / ".acdflow" / "artifacts" / "browser"

# Only Debian's packages: a chromium elsewhere on PATH may be one a test tool downloaded.
CHROMIUM = shutil.which("chromium", path="/usr/bin")
CHROMEDRIVER = shutil.which("chromedriver", path="/usr/bin")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): "
        "apt-get install chromium chromium-driver",
    ),
]

NAME = "demo"
DAG_IDS = (f"{NAME}__interactions", f"{NAME}__agent_status", f"{NAME}__live_status")
INTERACTIONS = f"{NAME}__interactions"
CONN_ID = f"eightbyeight_{NAME}"

# Measured on a busy two-core machine: Airflow answered 1.5 to 4 minutes after the command
# started, and a run waits for a slot behind the catch-up runs of the last two hours
# (max_active_runs 4) before its seven tasks take from half a minute to a few minutes.
STARTUP_TIMEOUT = 360.0
RUN_TIMEOUT = 600.0
UI_TIMEOUT = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class DemoAirflow:
    url: str
    password: str
    root: Path
    log: Path


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} does not exist)"


@pytest.fixture(scope="module")
def demo_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoAirflow]:
    """``acdflow-dev demo airflow`` as ``make airflow`` runs it, on a free port; stopped with SIGTERM."""
    root = tmp_path_factory.mktemp("demo-airflow")
    port = free_port()
    log = root.parent / f"{root.name}.log"
    # The suite's conftest points AIRFLOW_* at its own scratch home; the demo must not inherit that.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    with log.open("wb") as out:
        command = ["demo", "airflow", "--root", str(root), "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "acdflow_dev.cli", *command],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    standalone_log = root / "airflow" / "standalone.log"
    try:
        url_file = root / "airflow.url"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not url_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"`acdflow-dev demo airflow` exited with {proc.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                logs = f"{_tail(log)}\n{_tail(standalone_log)}"
                pytest.fail(f"Airflow was not up within {STARTUP_TIMEOUT:.0f} s:\n{logs}")
            time.sleep(2)
        url = url_file.read_text().strip()
        passwords = root / "airflow" / "simple_auth_manager_passwords.json.generated"
        password = str(json.loads(passwords.read_text())["admin"])
        yield DemoAirflow(url=url, password=password, root=root, log=standalone_log)
    finally:
        # The demo runs standalone in a session of its own; its SIGTERM handling must stop it,
        # and the embedded PostgreSQL, before it exits.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            returncode = proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"`acdflow-dev demo airflow` did not stop within 120 s of SIGTERM:\n{_tail(log)}")
    assert returncode == 0, f"`acdflow-dev demo airflow` ended with {returncode}:\n{_tail(log)}"
    assert not _port_open(port), f"something still answers on port {port} after the demo stopped"
    assert not (root / "airflow.url").exists()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(UI_TIMEOUT * 2)
    try:
        yield driver
    finally:
        driver.quit()


# --- helpers --------------------------------------------------------------------------------------


def _shot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


@contextmanager
def _artifacts_on_failure(driver: WebDriver, name: str) -> Iterator[None]:
    """On any failure keep what the browser showed: a screenshot and the DOM, for reading selectors."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            _shot(driver, f"FAILED-{name}")
            page = ARTIFACTS / f"FAILED-{name}.html"
            page.write_text(driver.page_source)
            print(f"page source: {page} (at {driver.current_url})")
        except Exception as error:  # the browser itself may be what failed
            print(f"no failure artifacts: {error!r}")
        raise


def _wait(
    driver: WebDriver,
    condition: Callable[[WebDriver], T | Literal[False] | None],
    what: str,
    timeout: float = UI_TIMEOUT,
) -> T:
    try:
        # React replaces elements as it re-renders: a stale element means "look again".
        ignored = (NoSuchElementException, StaleElementReferenceException)
        result = WebDriverWait(driver, timeout, poll_frequency=0.5, ignored_exceptions=ignored).until(
            condition
        )
        assert result  # until() returns only a truthy value
        return result
    except TimeoutException as error:
        message = f"timed out after {timeout:.0f} s waiting for {what} at {driver.current_url}"
        raise AssertionError(message) from error


def _visible(driver: WebDriver, css: str, what: str) -> WebElement:
    return _wait(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, css)), what)


def _click(driver: WebDriver, by: str, locator: str, what: str) -> None:
    """Click once the element is there and clickable; React may re-render it under our feet."""

    def attempt(d: WebDriver) -> bool:
        element = d.find_element(by, locator)
        if not (element.is_displayed() and element.is_enabled()):
            return False
        try:
            element.click()
        except ElementClickInterceptedException:  # e.g. a closing dialog's overlay still on top
            return False
        return True

    _wait(driver, attempt, what)


def _wait_text(driver: WebDriver, css: str, text: str, what: str) -> WebElement:
    def attempt(d: WebDriver) -> WebElement | None:
        element = d.find_element(By.CSS_SELECTOR, css)
        return element if text in _text(element) else None

    return _wait(driver, attempt, what)


def _text(element: WebElement) -> str:
    return " ".join(element.text.split())


def _login(driver: WebDriver, demo: DemoAirflow, screenshot: str | None = None) -> None:
    """Sign in through SimpleAuthManager's login form, where the UI sends an unauthenticated user."""
    driver.get(f"{demo.url}/")
    _wait(driver, lambda d: "/auth/login" in d.current_url, "the redirect to the login page")
    username = _visible(driver, "input[name=username]", "the username field")
    password = _visible(driver, "input[name=password]", "the password field")
    assert password.get_attribute("type") == "password"
    if screenshot:
        _shot(driver, screenshot)
    username.send_keys("admin")
    password.send_keys(demo.password)
    _click(driver, By.CSS_SELECTOR, "button[type=submit]", "the enabled Sign in button")
    _wait(driver, lambda d: "/auth/login" not in d.current_url, "leaving the login page")
    _visible(driver, "[data-testid=nav-dags-link]", "the navigation of the signed-in UI")


def _api_token(demo: DemoAirflow) -> str:
    body = json.dumps({"username": "admin", "password": demo.password}).encode()
    request = urllib.request.Request(
        f"{demo.url}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.load(response)["access_token"])


def _api_get(demo: DemoAirflow, token: str, path: str) -> Any:
    request = urllib.request.Request(f"{demo.url}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _run_badge(driver: WebDriver) -> str:
    def attempt(d: WebDriver) -> str | None:
        badge = d.find_element(By.CSS_SELECTOR, "[data-testid=header-card] [data-testid=state-badge]")
        return _text(badge).lower() or None

    return _wait(driver, attempt, "the run's state badge")


def _open_dialog(driver: WebDriver, heading: str) -> WebElement:
    xpath = f"//*[@role='dialog' and @data-state='open'][.//h2[contains(normalize-space(), '{heading}')]]"
    return _wait(driver, ec.visibility_of_element_located((By.XPATH, xpath)), f"the '{heading}' dialog")


def _labels(dialog: WebElement) -> dict[str, WebElement]:
    """Visible field labels of a form, by their text without the required-field asterisk."""
    found: dict[str, WebElement] = {}
    for label in dialog.find_elements(By.CSS_SELECTOR, "label[data-part=label]"):
        if label.is_displayed():
            found[re.sub(r"\s*\*$", "", _text(label))] = label
    return found


def _input_for(dialog: WebElement, label: WebElement) -> WebElement:
    return dialog.find_element(By.ID, str(label.get_attribute("for")))


def _extra_input(dialog: WebElement, name: str) -> WebElement:
    # Airflow's form labels of extra fields point at an id the input does not carry; the name is stable.
    return dialog.find_element(By.CSS_SELECTOR, f"input[name=element_{name}]")


def _expand(driver: WebDriver, dialog: WebElement, section: str) -> None:
    trigger = dialog.find_element(
        By.XPATH, f".//button[@data-part='item-trigger' and normalize-space()='{section}']"
    )
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    _wait(driver, lambda d: trigger.get_attribute("aria-expanded") == "true", f"the '{section}' section")


# --- tests ----------------------------------------------------------------------------------------


def test_login_list_dags_and_trigger_interactions(demo_airflow: DemoAirflow, browser: WebDriver) -> None:
    driver = browser
    with _artifacts_on_failure(driver, "trigger-run"):
        _login(driver, demo_airflow, screenshot="01-login")

        _click(driver, By.CSS_SELECTOR, "[data-testid=nav-dags-link]", "the Dags link")

        def dag_ids(d: WebDriver) -> set[str] | None:
            shown = {_text(a) for a in d.find_elements(By.CSS_SELECTOR, "a[data-testid=dag-id]")}
            return shown if set(DAG_IDS) <= shown else None

        shown = _wait(driver, dag_ids, f"the DAGs {', '.join(DAG_IDS)} in the DAG list")
        assert set(DAG_IDS) <= shown, sorted(shown)
        _shot(driver, "02-dag-list")

        link = f"a[data-testid=dag-id][href$='/dags/{INTERACTIONS}']"
        _click(driver, By.CSS_SELECTOR, link, f"the link to {INTERACTIONS}")
        _wait_text(driver, "[data-testid=header-card]", INTERACTIONS, f"the page of {INTERACTIONS}")
        _click(driver, By.CSS_SELECTOR, "[data-testid=trigger-dag-button]", "the Trigger button")
        dialog = _open_dialog(driver, f"Trigger Dag - {INTERACTIONS}")
        # A run id of our own tells this run apart from the scheduler's catch-up runs.
        run_id = f"browser_test_{datetime.now(UTC):%Y%m%dT%H%M%S}"
        dialog.find_element(By.XPATH, ".//button[contains(normalize-space(), 'Advanced Options')]").click()
        _visible(driver, "[role=dialog] input[name=dagRunId]", "the Run ID field").send_keys(run_id)
        _click(driver, By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]", "the dialog's Trigger button")
        _wait(driver, ec.invisibility_of_element(dialog), "the Trigger dialog to close")

        driver.get(f"{demo_airflow.url}/dags/{INTERACTIONS}/runs/{run_id}")
        _wait_text(driver, "[data-testid=header-card]", run_id, f"the page of run {run_id}")
        token = _api_token(demo_airflow)
        run_path = f"/api/v2/dags/{INTERACTIONS}/dagRuns/{run_id}"
        deadline = time.monotonic() + RUN_TIMEOUT
        started = time.monotonic()
        ui_state = _run_badge(driver)
        while ui_state != "success":
            assert ui_state not in {"failed", "upstream_failed"}, f"run {run_id} ended {ui_state} in the UI"
            assert time.monotonic() < deadline, (
                f"run {run_id} still '{ui_state}' after {RUN_TIMEOUT:.0f} s\n{_tail(demo_airflow.log)}"
            )
            time.sleep(10)
            # A reload instead of trusting the page's own polling to keep the badge current.
            driver.refresh()
            ui_state = _run_badge(driver)
        print(f"run {run_id} succeeded {time.monotonic() - started:.0f} s after it was triggered")
        header = _visible(driver, "[data-testid=header-card]", "the run's header")
        assert "Manual" in _text(header), _text(header)
        _shot(driver, "03-run-success")

        run = _api_get(demo_airflow, token, run_path)
        assert run["dag_run_id"] == run_id
        assert run["run_type"] == "manual"
        assert run["state"] == "success"
        assert run["triggering_user_name"] == "admin"
        manual = _api_get(demo_airflow, token, f"/api/v2/dags/{INTERACTIONS}/dagRuns?run_type=manual")
        assert run_id in {r["dag_run_id"] for r in manual["dag_runs"]}
        assert {r["run_type"] for r in manual["dag_runs"]} == {"manual"}
        tasks = _api_get(demo_airflow, token, f"{run_path}/taskInstances")["task_instances"]
        assert tasks, "the run has no task instances"
        assert {t["task_id"]: t["state"] for t in tasks} == {t["task_id"]: "success" for t in tasks}


def test_eightbyeight_connection_form(demo_airflow: DemoAirflow, browser: WebDriver) -> None:
    driver = browser
    with _artifacts_on_failure(driver, "connection-form"):
        _login(driver, demo_airflow)
        driver.get(f"{demo_airflow.url}/connections")
        _click(driver, By.XPATH, "//button[normalize-space()='Add Connection']", "the Add Connection button")
        dialog = _open_dialog(driver, "Add Connection")
        conn_type = dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]")
        conn_type.send_keys("8x8")
        _click(
            driver,
            By.XPATH,
            "//*[@role='listbox']//*[@role='option' and normalize-space()='8x8 Contact Center']",
            "the connection type 8x8 Contact Center",
        )
        _wait(driver, lambda d: "Client ID" in _labels(dialog), "the 8x8 fields")
        # The form is an accordion that shows one section at a time.
        standard = _labels(dialog)
        assert {"Base URL (optional)", "Client ID", "Client secret"} <= set(standard), sorted(standard)
        # Fields that make no sense for 8x8 are hidden.
        assert not {"Host", "Login", "Password", "Schema", "Port"} & set(standard), sorted(standard)
        assert _input_for(dialog, standard["Client secret"]).get_attribute("type") == "password"
        assert _input_for(dialog, standard["Client ID"]).get_attribute("name") == "login"
        assert _input_for(dialog, standard["Base URL (optional)"]).get_attribute("name") == "host"
        assert standard["Base URL (optional)"].get_attribute("data-required") is None
        _shot(driver, "04-connection-form")

        _expand(driver, dialog, "Extra Fields")
        extra = _labels(dialog)
        assert {"Account region", "Tenant time zone", "Tenant id"} <= set(extra), sorted(extra)
        assert extra["Tenant time zone"].get_attribute("data-required") is not None
        assert extra["Tenant id"].get_attribute("data-required") is None
        _click(driver, By.ID, "element_region", "the Account region choice")
        options = _wait(
            driver,
            lambda d: (
                [_text(o) for o in d.find_elements(By.CSS_SELECTOR, "#element_region [role=option]")] or None
            ),
            "the Account region choices",
        )
        assert sorted(options) == sorted(["US", "EU", "AU", "CA"])
        _shot(driver, "05-connection-form-extra")

        driver.get(f"{demo_airflow.url}/connections")
        row = f"//tr[td[@data-testid='table-cell-connection_id' and normalize-space()='{CONN_ID}']]"
        _click(driver, By.XPATH, f"{row}//button[@aria-label='Edit Connection']", f"Edit of {CONN_ID}")
        dialog = _open_dialog(driver, "Edit Connection")
        _wait(driver, lambda d: "Client ID" in _labels(dialog), "the 8x8 fields of the saved connection")
        standard = _labels(dialog)
        assert _input_for(dialog, standard["Client ID"]).get_attribute("value") == "demo-client"
        assert _input_for(dialog, standard["Client secret"]).get_attribute("type") == "password"
        base_url = _input_for(dialog, standard["Base URL (optional)"]).get_attribute("value")
        assert str(base_url).startswith("http://127.0.0.1:"), base_url
        _shot(driver, "06-connection-edit")
        _expand(driver, dialog, "Extra Fields")
        assert _extra_input(dialog, "timezone").get_attribute("value") == "America/New_York"
        # The saved region must be one of the choices, or the form shows none ("Select Value").
        assert _extra_input(dialog, "region").get_attribute("value") == "US"
        assert _text(dialog.find_element(By.ID, "element_region")) == "US"
        _shot(driver, "07-connection-edit-extra")
