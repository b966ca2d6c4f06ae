"""Token endpoint, bearer checks, regions, versions, routing, content negotiation, X-Tenant-Info."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import requests

from acdflow_dev.sim import SimConfig, SimServer, Simulator, TenantConfig

from .helpers import AGENT_STATUS, CLIENT, INTERACTIONS, NOW, Api, body, report_fields

WINDOW = ("2026-03-10T08:00:00.000Z", "2026-03-10T08:14:59.999Z")


def test_token_success_shape(api: Api) -> None:
    response = api.fetch_token()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["token_type"] == "BearerToken"
    assert payload["expires_in"] == "1799"
    assert isinstance(payload["issued_at"], str)
    assert int(payload["issued_at"]) == int(NOW.timestamp() * 1000)
    assert len(payload["access_token"]) == 28
    assert "analytics realtime-api" in payload["api_product_list_json"]
    assert "analytics realtime-api" in payload["api_product_list"]
    for key in (
        "refresh_token_expires_in",
        "developer.email",
        "client_id",
        "scope",
        "refresh_count",
        "status",
    ):
        assert isinstance(payload[key], str), key


@pytest.mark.parametrize(
    ("auth_header", "form", "status", "expected"),
    [
        (
            None,
            "grant_type=client_credentials",
            401,
            {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"},
        ),
        (
            "Basic " + base64.b64encode(b"acdflow-demo:wrong").decode(),
            "grant_type=client_credentials",
            401,
            {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"},
        ),
        ("Basic !!notbase64", "grant_type=client_credentials", 401, None),
        (
            "Basic " + base64.b64encode(b"acdflow-demo:acdflow-demo-secret").decode(),
            "",
            400,
            {"ErrorCode": "invalid_request", "Error": "Unsupported grant type : "},
        ),
        (
            "Basic " + base64.b64encode(b"acdflow-demo:acdflow-demo-secret").decode(),
            "grant_type=password",
            400,
            {"ErrorCode": "invalid_request", "Error": "Unsupported grant type : password"},
        ),
    ],
)
def test_token_errors(
    server: SimServer, auth_header: str | None, form: str, status: int, expected: dict[str, str] | None
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth_header:
        headers["Authorization"] = auth_header
    response = requests.post(f"{server.base_url}/oauth/v2/token", data=form, headers=headers, timeout=10)
    assert response.status_code == status
    if expected is not None:
        assert response.json() == expected


def test_token_wrong_method(server: SimServer) -> None:
    assert requests.get(f"{server.base_url}/oauth/v2/token", timeout=10).status_code == 405


def test_token_lives_its_ttl_on_the_simulator_clock() -> None:
    sim = Simulator(SimConfig.single(seed=1, now=NOW, token_ttl_seconds=60))
    with sim.serve() as server:
        api = Api(server.base_url)
        assert api.fetch_token().json()["expires_in"] == "59"
        url = f"{api.hist}/report-types"
        assert api.get(url).status_code == 200
        sim.clock.advance(timedelta(seconds=59, milliseconds=999))
        assert api.get(url).status_code == 200
        sim.clock.advance(timedelta(milliseconds=1))
        expired = api.get(url)
        assert expired.status_code == 401
        assert expired.json()["fault"]["detail"]["errorcode"] == "keymanagement.service.access_token_expired"


def test_bearer_missing_unknown_and_revoked(sim: Simulator, api: Api) -> None:
    url = f"{api.rt}/agents?summary=true"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {
        "fault": {
            "faultstring": "Invalid access token",
            "detail": {"errorcode": "oauth.v2.InvalidAccessToken"},
        }
    }
    unknown = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert unknown.status_code == 401
    assert api.get(url).status_code == 200
    sim.revoke_tokens()
    revoked = api.get(url)
    assert revoked.status_code == 401
    assert revoked.json()["fault"]["faultstring"] == "Invalid access token"


@pytest.mark.parametrize(("region", "prefix"), [("us", ""), ("eu", "/eu"), ("au", "/au"), ("ca", "/ca")])
def test_each_region_serves_its_prefix_and_rejects_the_others(region: str, prefix: str) -> None:
    sim = Simulator(SimConfig.single(seed=1, region=region, now=NOW, scale=200))
    with sim.serve() as server:
        api = Api(server.base_url, prefix)
        assert api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code == 200
        created = api.create(body(INTERACTIONS, *WINDOW))
        assert created.status_code == 200
        assert f"{prefix}/analytics/cc/v8/historical-metrics/detailed-reports/" in created.headers["Link"]
        for other in ("", "/eu", "/au", "/ca"):
            if other == prefix:
                continue
            wrong = Api(server.base_url, other)
            wrong._token = api.token
            response = wrong.get(f"{wrong.rt}/agents", params={"summary": "true"})
            assert response.status_code == 403
            assert response.json() == {"message": "Forbidden"}
            assert wrong.create(body(INTERACTIONS, *WINDOW)).status_code == 403


def test_versions_paths_methods_and_accept(api: Api) -> None:
    v7 = api.get(api.hist.replace("/v8/", "/v7/") + "/report-types")
    assert v7.status_code == 404
    assert v7.json() == {"message": "Not found"}
    assert api.get(api.rt.replace("/v5/", "/v4/") + "/agents").status_code == 404
    assert api.get(f"{api.hist}/nope/nope").status_code == 404
    assert api.get(f"{api.hist}/detailed-reports/abc/data").status_code == 404
    assert api.get(f"{api.rt}/queues-nope").status_code == 404
    assert api.get(f"{api.base_url}/not-an-api").status_code == 404
    assert api.get(f"{api.base_url}/xx/analytics/cc/v8/historical-metrics/report-types").status_code == 404
    wrong_method = api.get(f"{api.hist}/detailed-reports")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"message": "Method not allowed"}
    assert api.post(f"{api.rt}/agents").status_code == 405
    xml = api.get(f"{api.hist}/report-types", headers=api.headers(Accept="application/xml"))
    assert xml.status_code == 406
    assert xml.json() == {"message": "Not acceptable"}
    for accept in ("*/*", "application/json", "application/json;charset=UTF-8", "application/*"):
        assert api.get(f"{api.hist}/report-types", headers=api.headers(Accept=accept)).status_code == 200


def test_content_types(api: Api) -> None:
    hist = api.get(f"{api.hist}/report-types")
    assert hist.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert api.get(f"{api.hist}/nope/nope").headers["Content-Type"] == "application/json;charset=UTF-8"
    rt = api.get(f"{api.rt}/agents", params={"summary": "true"})
    assert rt.headers["Content-Type"] == "application/json"


def test_report_types_lists_exact_catalogues(api: Api) -> None:
    one = api.get(f"{api.hist}/report-types/detailed-reports-agent-status-change").json()
    expected = [key for key, _label in report_fields(AGENT_STATUS)]
    assert one["metrics"] == expected
    assert one["searchQuery"]["fields"] == expected
    assert one["searchQuery"]["operators"] == ["=", "!=", ">", ">=", "<=", "<", "contains", "not-in", "in",
                                               "is-empty", "is-not-empty"]  # fmt: skip
    interaction = api.get(f"{api.hist}/report-types/{INTERACTIONS}").json()
    assert interaction["metrics"] == [key for key, _ in report_fields(INTERACTIONS)]
    assert len(interaction["metrics"]) == 95
    listing = api.get(f"{api.hist}/report-types").json()
    # Only the report types the simulator can create (summary reports are not simulated).
    assert [entry["type"] for entry in listing] == [INTERACTIONS, "detailed-reports-agent-status-change"]
    assert api.get(f"{api.hist}/report-types/no-such-type").status_code == 404


@pytest.fixture(scope="module")
def multi() -> Simulator:
    return Simulator(
        SimConfig(
            seed=3,
            now=NOW,
            tenants=(
                TenantConfig("acmecorp01", "us", "America/Los_Angeles", 300),
                TenantConfig("acmecorp02", "eu", "Europe/Berlin", 300),
            ),
        )
    )


def test_x_tenant_info_for_a_multi_tenant_credential(multi: Simulator) -> None:
    with multi.serve() as server:
        us = Api(server.base_url)
        missing = us.get(f"{us.rt}/agents", params={"summary": "true"})
        assert missing.status_code == 400
        assert missing.json() == {"message": "Bad request: X-Tenant-Info header is missing."}
        bad = us.get(
            f"{us.rt}/agents", params={"summary": "true"}, headers=us.headers(**{"X-Tenant-Info": "zzz"})
        )
        assert bad.status_code == 400
        assert bad.json() == {"message": "Bad request: Invalid value for X-Tenant-Info header."}
        us.tenant = "acmecorp01"
        us_agents = us.get(f"{us.rt}/agents", params={"summary": "true"}).json()
        eu = Api(server.base_url, "/eu", "acmecorp02")
        eu._token = us.token  # one credential, several tenants
        eu_agents = eu.get(f"{eu.rt}/agents", params={"summary": "true"}).json()
        assert {a["id"] for a in us_agents}.isdisjoint({a["id"] for a in eu_agents})
        # The EU tenant through the US prefix is a region error, not a tenant error.
        wrong = Api(server.base_url, "", "acmecorp02")
        wrong._token = us.token
        assert wrong.get(f"{wrong.rt}/agents", params={"summary": "true"}).status_code == 403
        # A report of one tenant is invisible to the other.
        report = us.create_id(body(INTERACTIONS, *WINDOW))
        assert us.data(report).status_code == 200
        other = Api(server.base_url, "/eu", "acmecorp02")
        other._token = us.token
        assert other.data(report).status_code == 404
        log = multi.request_log()
        assert {"acmecorp01", "acmecorp02"} <= {r.tenant_id for r in log}
        # The token endpoint ignores X-Tenant-Info (8x8 documents the header for the metrics APIs only).
        token = requests.post(
            f"{server.base_url}/oauth/v2/token",
            auth=CLIENT,
            data={"grant_type": "client_credentials"},
            headers={"X-Tenant-Info": "nonsense"},
            timeout=10,
        )
        assert token.status_code == 200


def test_x_tenant_info_for_a_single_tenant_credential(api: Api) -> None:
    ok = api.get(
        f"{api.rt}/agents", params={"summary": "true"}, headers=api.headers(**{"X-Tenant-Info": "acmecorp01"})
    )
    assert ok.status_code == 200
    wrong = api.get(
        f"{api.rt}/agents", params={"summary": "true"}, headers=api.headers(**{"X-Tenant-Info": "other"})
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"message": "Bad request: Invalid value for X-Tenant-Info header."}
