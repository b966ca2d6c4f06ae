"""Offline tests: connection → settings mapping, validation messages, base URLs, secret hygiene."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from acdflow.eightbyeight import ConfigurationError, EightByEightSettings, settings_from_connection
from acdflow.eightbyeight.errors import ApiError, TransientApiError

SECRET = "s3cr3t-Value-42"
GOOD_EXTRA = {"region": "us", "timezone": "America/Los_Angeles"}


def from_conn(
    login: str | None = "client-1",
    password: str | None = SECRET,
    host: str | None = None,
    **extra: Any,
) -> EightByEightSettings:
    merged = {**GOOD_EXTRA, **extra}
    return settings_from_connection(
        login, password, host, {k: v for k, v in merged.items() if v is not None}, conn_id="ebe_test"
    )


def test_good_connection_maps_every_field() -> None:
    settings = from_conn(region="EU", timezone="Europe/Helsinki", tenant_id="acmecorp01")
    assert settings.client_id == "client-1"
    assert settings.client_secret == SECRET
    assert settings.region == "eu"
    assert settings.timezone == "Europe/Helsinki"
    assert settings.tenant_id == "acmecorp01"
    assert settings.base_url is None
    # Error messages name the integration; it defaults to the connection id.
    assert settings.integration == "ebe_test"


@pytest.mark.parametrize("region", ["us", "US", "Eu", " au ", "CA"])
def test_region_is_case_insensitive(region: str) -> None:
    assert from_conn(region=region).region == region.strip().lower()


def test_prefixed_extra_keys_of_older_forms_are_accepted() -> None:
    settings = settings_from_connection(
        "c",
        SECRET,
        None,
        {"extra__eightbyeight__region": "CA", "extra__eightbyeight__timezone": "America/Toronto"},
        conn_id="x",
    )
    assert (settings.region, settings.timezone) == ("ca", "America/Toronto")


@pytest.mark.parametrize(
    ("kwargs", "field", "needle"),
    [
        ({"region": "apac"}, "region", "US, EU, AU, CA"),
        ({"region": None}, "region", "US, EU, AU, CA"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),  # ZoneInfo would read a file path
        ({"timezone": "UTC+2"}, "timezone", "IANA"),
        ({"timezone": "America/Los_Angeles "}, "timezone", "IANA"),
        ({"timezone": None}, "timezone", "IANA"),
        ({"login": ""}, "login", "Client ID"),
        ({"password": None}, "password", "Client secret"),
        ({"tenant_id": "   "}, "tenant_id", "tenant_id"),
        ({"host": "http://api.example.com"}, "host", "plain http"),
        ({"host": "ftp://127.0.0.1"}, "host", "http(s)"),
        ({"host": "https://user:pw@api.8x8.com"}, "host", "credentials"),
    ],
)
def test_each_bad_field_gives_one_error_naming_connection_and_field(
    kwargs: dict[str, Any], field: str, needle: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_conn(**kwargs)
    error = caught.value
    assert error.fields == (field,)
    assert error.conn_id == "ebe_test"
    text = str(error)
    assert "'ebe_test'" in text
    assert needle in text
    assert SECRET not in text


def test_several_bad_fields_are_reported_together() -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_conn(region="mars", timezone="Nowhere/Land")
    assert set(caught.value.fields) == {"region", "timezone"}


@pytest.mark.parametrize(
    "host",
    ["http://127.0.0.1:8808", "http://127.5.6.7:1", "http://localhost:9000", "http://[::1]:8808"],
)
def test_plain_http_is_accepted_for_loopback_only(host: str) -> None:
    assert from_conn(host=host).base_url == host


def test_bare_host_means_https() -> None:
    settings = from_conn(host="api.8x8.com")
    assert settings.token_url == "https://api.8x8.com/oauth/v2/token"


@pytest.mark.parametrize(("region", "prefix"), [("us", ""), ("eu", "/eu"), ("au", "/au"), ("ca", "/ca")])
def test_base_urls_per_region(region: str, prefix: str) -> None:
    settings = from_conn(region=region)
    assert settings.token_url == "https://api.8x8.com/oauth/v2/token"
    assert settings.historical_base_url == f"https://api.8x8.com{prefix}/analytics/cc/v8/historical-metrics"
    assert settings.realtime_base_url == f"https://api.8x8.com{prefix}/analytics/cc/v5/realtime-metrics"


def test_base_url_override_keeps_region_prefix_and_drops_trailing_slash() -> None:
    settings = from_conn(region="eu", host="http://127.0.0.1:8808/")
    assert settings.token_url == "http://127.0.0.1:8808/oauth/v2/token"
    assert settings.historical_base_url == "http://127.0.0.1:8808/eu/analytics/cc/v8/historical-metrics"


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigurationError) as caught:
        EightByEightSettings("c", SECRET, "xx", "UTC")  # type: ignore[arg-type]
    assert caught.value.fields == ("region",)
    with pytest.raises(ConfigurationError) as caught:
        EightByEightSettings("c", SECRET, "us", "UTC", max_attempts=0, timeout_s=-1)
    assert set(caught.value.fields) == {"max_attempts", "timeout_s"}


def test_secret_never_in_repr_or_str() -> None:
    settings = from_conn()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "client_secret" not in repr(settings)


def test_errors_name_integration_region_endpoint_and_survive_pickling() -> None:
    error = ApiError("HTTP 406", status=406, integration="acme", region="eu", endpoint="/eu/x")
    text = str(error)
    assert "integration 'acme'" in text
    assert "region EU" in text
    assert "endpoint /eu/x" in text
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert str(clone) == text
    assert clone.status == 406
    transient = pickle.loads(pickle.dumps(TransientApiError("x", status=503, attempts=5)))  # noqa: S301
    assert transient.attempts == 5
