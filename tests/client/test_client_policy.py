"""Offline tests of the retry policy, token lifetime handling and report titles."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdflow.eightbyeight.auth import ClientCredentialsAuth, InvalidTokenResponse
from acdflow.eightbyeight.client import (
    TITLE_PATTERN,
    EightByEightClient,
    make_report_title,
    validate_report_title,
)
from acdflow.eightbyeight.retry import backoff_ceiling, backoff_delay, parse_retry_after
from acdflow.eightbyeight.settings import EightByEightSettings

NOW = datetime(2025, 11, 18, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 0 ", 0.0), ("1.5", 1.5), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_http_date() -> None:
    header = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    assert header.endswith("GMT")
    assert parse_retry_after(header, now=NOW) == pytest.approx(42.0)
    past = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(past, now=NOW) == 0.0
    assert parse_retry_after("Tue, 18 Nov 2025 20:31:00 GMT", now=NOW) == pytest.approx(60.0)


@given(
    retry_number=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.001, max_value=120),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_is_full_jitter_within_capped_exponential_bound(
    retry_number: int, base: float, cap: float, seed: int
) -> None:
    rng = random.Random(seed)
    ceiling = backoff_ceiling(retry_number, base_s=base, cap_s=cap)
    assert ceiling == pytest.approx(min(cap, base * 2 ** min(retry_number - 1, 62)))
    delay = backoff_delay(retry_number, base_s=base, cap_s=cap, uniform=rng.uniform)
    assert 0.0 <= delay <= ceiling


def test_backoff_never_shorter_than_retry_after() -> None:
    for n in range(1, 8):
        assert backoff_delay(n, base_s=0.01, cap_s=0.05, retry_after_s=2.5) >= 2.5
    # Both the lower and the upper end of the jitter are respected.
    assert backoff_delay(3, base_s=1, cap_s=60, uniform=lambda a, b: b) == 4.0
    assert backoff_delay(3, base_s=1, cap_s=60, uniform=lambda a, b: a) == 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_renewed_when_less_than_60s_remain_and_masked() -> None:
    clock = FakeClock()
    masked: list[str] = []
    auth = ClientCredentialsAuth("id", "secret-xyz", clock=clock, secret_masker=masked.append)
    assert auth.current_token() is None
    token = auth.accept_token_response(
        {"access_token": "tok-123456", "expires_in": "1799"}, requested_at=1000.0
    )
    assert token == "tok-123456"
    assert masked == ["tok-123456"]
    clock.now = 1000.0 + 1799 - 61
    assert auth.current_token() == "tok-123456"
    clock.now = 1000.0 + 1799 - 59
    assert auth.current_token() is None
    assert "tok-123456" not in repr(auth)
    assert "secret-xyz" not in repr(auth)


def test_short_lived_token_is_not_renewed_on_every_request() -> None:
    clock = FakeClock()
    auth = ClientCredentialsAuth("id", "s", clock=clock)
    auth.accept_token_response({"access_token": "t", "expires_in": 20}, requested_at=clock.now)
    clock.now += 9
    assert auth.current_token() == "t"
    clock.now += 2
    assert auth.current_token() is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"access_token": "t"},
        {"access_token": "", "expires_in": "1"},
        {"access_token": "t", "expires_in": "x"},
    ],
)
def test_unusable_token_response_is_rejected(body: dict[str, object]) -> None:
    auth = ClientCredentialsAuth("id", "s", clock=FakeClock())
    with pytest.raises(InvalidTokenResponse):
        auth.accept_token_response(body, requested_at=0.0)


@pytest.mark.parametrize(
    ("report_type", "start"),
    [
        ("detailed-reports-interaction-details", "2025-11-18T08:45:00.000Z"),
        ("detailed-reports-agent-status-change", "2025-11-18T23:59:59.999Z"),
        ("agent-status-time-on-status", ""),
        ("weird:type/with?chars", "2025-01-01T00:00:00.000Z"),
    ],
)
def test_generated_titles_satisfy_8x8s_title_rule(report_type: str, start: str) -> None:
    title = make_report_title(report_type, start)
    assert TITLE_PATTERN.match(title)
    assert ":" not in title
    assert len(title) < 64
    validate_report_title(title)


def test_generated_title_is_readable() -> None:
    title = make_report_title("detailed-reports-interaction-details", "2025-11-18T08:45:00.000Z")
    assert title == "acdflow interaction-details 20251118 084500"


@pytest.mark.parametrize("title", ["", "a:b", "x" * 256, "emoji 🙂"])
def test_invalid_titles_are_refused(title: str) -> None:
    with pytest.raises(ValueError, match="title"):
        validate_report_title(title)


def test_client_repr_hides_secret() -> None:
    settings = EightByEightSettings("id", "very-secret-1", "us", "UTC")
    client = EightByEightClient(settings)
    assert "very-secret-1" not in repr(client)
    client.close()


def test_create_detailed_report_checks_arguments_before_any_request() -> None:
    settings = EightByEightSettings("id", "s", "us", "UTC", base_url="http://127.0.0.1:9")
    with EightByEightClient(settings) as client:
        with pytest.raises(ValueError, match="YYYY"):
            client.create_detailed_report(
                "detailed-reports-interaction-details", start="2025-11-18 08:45", end="x", timezone=None
            )
        with pytest.raises(ValueError, match="includeParticipants"):
            client.create_detailed_report(
                "detailed-reports-agent-status-change",
                start="2025-11-18T08:45:00.000Z",
                end="2025-11-18T09:00:00.000Z",
                timezone=None,
                include_participants=True,
            )
        with pytest.raises(ValueError, match="page_size"):
            next(client.iter_detailed_rows(1, page_size=1001))
        assert client.stats.requests_sent == 0
