"""The Airflow side: connection type registration and the hook, against the simulator.

Connections come from ``AIRFLOW_CONN_<ID>`` environment variables (JSON form), so no metadata
database is needed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from acdflow.eightbyeight import ConfigurationError

from .conftest import CLIENT_ID, CLIENT_SECRET, RunningSim

TZ = "America/Los_Angeles"


@pytest.fixture
def airflow_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return monkeypatch


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    conn: dict[str, Any] = {"conn_type": "eightbyeight", **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_test_connection_succeeds_with_good_credentials(
    airflow_env: pytest.MonkeyPatch, sim: RunningSim
) -> None:
    set_connection(
        airflow_env,
        "ebe_sim",
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        host=sim.base_url,
        extra={"region": "US", "timezone": TZ},
    )
    from acdflow.eightbyeight.hook import EightByEightHook

    ok, message = EightByEightHook(eightbyeight_conn_id="ebe_sim").test_connection()
    assert ok, message
    assert "region US" in message
    assert CLIENT_SECRET not in message
    # One token and one realtime call: the check proves region and tenant, not only the secret.
    assert [r.path for r in sim.log()] == ["/oauth/v2/token", "/analytics/cc/v5/realtime-metrics/agents"]


def test_test_connection_fails_with_bad_credentials_without_leaking_them(
    airflow_env: pytest.MonkeyPatch, sim: RunningSim
) -> None:
    set_connection(
        airflow_env,
        "ebe_bad",
        login=CLIENT_ID,
        password="wrong-secret-98765",
        host=sim.base_url,
        extra={"region": "us", "timezone": TZ},
    )
    from acdflow.eightbyeight.hook import EightByEightHook

    ok, message = EightByEightHook("ebe_bad").test_connection()
    assert not ok
    assert "Client ID / Client secret" in message
    assert "wrong-secret-98765" not in message
    assert len(sim.log()) == 1


def test_test_connection_reports_wrong_region(airflow_env: pytest.MonkeyPatch, sim: RunningSim) -> None:
    set_connection(
        airflow_env,
        "ebe_eu",
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        host=sim.base_url,
        extra={"region": "EU", "timezone": TZ},
    )
    from acdflow.eightbyeight.hook import EightByEightHook

    ok, message = EightByEightHook("ebe_eu").test_connection()
    assert not ok
    assert "403" in message
    assert "region" in message


def test_bad_connection_fields_are_reported_by_name(airflow_env: pytest.MonkeyPatch) -> None:
    set_connection(
        airflow_env,
        "ebe_cfg",
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        extra={"region": "mars", "timezone": TZ},
    )
    from acdflow.eightbyeight.hook import EightByEightHook

    hook = EightByEightHook("ebe_cfg")
    ok, message = hook.test_connection()
    assert not ok
    assert "'ebe_cfg'" in message
    assert "region" in message
    assert "US, EU, AU, CA" in message
    with pytest.raises(ConfigurationError):
        hook.get_settings()


def test_hook_reads_connection_only_when_asked(airflow_env: pytest.MonkeyPatch) -> None:
    from acdflow.eightbyeight.hook import EightByEightHook

    hook = EightByEightHook("does_not_exist_anywhere")
    assert hook.eightbyeight_conn_id == "does_not_exist_anywhere"
    assert EightByEightHook().eightbyeight_conn_id == "eightbyeight_default"


def test_client_from_hook_masks_every_token(airflow_env: pytest.MonkeyPatch, sim: RunningSim) -> None:
    set_connection(
        airflow_env,
        "ebe_mask",
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        host=sim.base_url,
        extra={"region": "us", "timezone": TZ, "tenant_id": "acmecorp01"},
    )
    from airflow.sdk._shared.secrets_masker import redact

    from acdflow.eightbyeight.hook import EightByEightHook

    hook = EightByEightHook("ebe_mask")
    settings = hook.get_settings()
    assert (settings.region, settings.tenant_id, settings.base_url) == ("us", "acmecorp01", sim.base_url)
    with hook.get_client() as client:
        client.authenticate()
        token = client._auth.current_token()
    assert token
    assert token not in str(redact(f"Authorization: Bearer {token}"))


def test_provider_info_declares_the_connection_type() -> None:
    from acdflow.provider import get_provider_info

    info = get_provider_info()
    assert {"package-name", "name", "description", "versions"} <= info.keys()
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "eightbyeight"
    assert conn_type["hook-class-name"] == "acdflow.eightbyeight.hook.EightByEightHook"
    assert conn_type["hook-name"] == "8x8 Contact Center"
    assert set(conn_type["conn-fields"]) == {"region", "timezone", "tenant_id"}
    assert conn_type["conn-fields"]["region"]["schema"]["enum"] == ["US", "EU", "AU", "CA"]
    behaviour = conn_type["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"schema", "port"}
    assert behaviour["relabeling"] == {
        "login": "Client ID",
        "password": "Client secret",
        "host": "Base URL (optional)",
    }


def test_airflow_providers_manager_knows_the_connection_type(airflow_env: pytest.MonkeyPatch) -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    with warnings.catch_warnings():
        # ProvidersManager.hooks is deprecated in favour of the task-sdk's; both read provider info.
        warnings.simplefilter("ignore")
        hooks = manager.hooks
    hook_info = hooks["eightbyeight"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "acdflow.eightbyeight.hook.EightByEightHook"
    assert hook_info.connection_testable
    assert manager.field_behaviours["eightbyeight"]["relabeling"]["password"] == "Client secret"
    widgets = manager.connection_form_widgets
    assert widgets["extra__eightbyeight__region"].field["schema"]["title"] == "Account region"
