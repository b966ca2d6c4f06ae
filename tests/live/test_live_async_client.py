"""The trigger's 8x8 client (``httpx``, asynchronous) follows the same rules as the tasks' client
(``requests``): the same scripted answers over real HTTP give the same requests on the wire, the
same result or error (class and message), the same accounting and the same masking, scenario by
scenario; against the simulator, with and without injected faults, both read the same agents; TLS
is verified with the same CA bundle and never switched off."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from acdflow.eightbyeight import (
    ApiError,
    AuthenticationError,
    EightByEightClient,
    EightByEightSettings,
    PaginationError,
    TenantHeaderError,
    TransientApiError,
)
from acdflow.eightbyeight.aio import AsyncEightByEightClient
from acdflow.eightbyeight.errors import EightByEightError, ProtocolError
from tests.client.scripted_server import AGENTS_PATH, TOKEN_BODY, TOKEN_PATH, Answer, Script, serve
from tests.e2e.harness import CLIENT_ID, CLIENT_SECRET, simulator

SECRET = "parity-secret-0815"
TOKEN = TOKEN_BODY["access_token"]
OK = Answer(body=[{"id": "a1", "metrics": [{"key": "n", "value": 1}]}], headers={"X-Total-Pages": "1"})


def settings(base_url: str, **overrides: Any) -> EightByEightSettings:
    values: dict[str, Any] = {
        "tenant_id": "tenant-7",
        "timeout_s": 5.0,
        "max_attempts": 3,
        "backoff_base_s": 0.001,
        "backoff_cap_s": 0.002,
        **overrides,
    }
    return EightByEightSettings("parity-id", SECRET, "us", "UTC", base_url=base_url, **values)


@dataclass
class Outcome:
    """What one client did: its result or error, its accounting, what it masked and sent."""

    result: Any
    error: tuple[type[BaseException], str] | None
    stats: dict[str, Any]
    masked: list[tuple[str, int]]  # token, requests the server had seen when it was masked
    requests: list[tuple[str, str, dict[str, list[str]]]]
    headers: list[tuple[str, bool, str | None]]  # path, had a bearer token, X-Tenant-Info
    bodies: list[bytes]


def run_sync(answers: list[Answer], **overrides: Any) -> Outcome:
    script = Script()
    script.add(AGENTS_PATH, *answers)
    masked: list[tuple[str, int]] = []
    with serve(script) as url:
        client = EightByEightClient(
            settings(url, **overrides),
            sleep=lambda _s: None,
            uniform=lambda _a, b: b,
            secret_masker=lambda token: masked.append((token, len(script.requests))),
        )
        result: Any = None
        error: tuple[type[BaseException], str] | None = None
        with client:
            try:
                result = list(client.iter_live_agents())
            except EightByEightError as exc:
                error = (type(exc), str(exc))
    return outcome(script, client.stats.as_dict(), result, error, masked)


def run_async(answers: list[Answer], **overrides: Any) -> Outcome:
    script = Script()
    script.add(AGENTS_PATH, *answers)
    masked: list[tuple[str, int]] = []

    async def sleep(_seconds: float) -> None:
        return None

    async def mask(token: str) -> None:
        masked.append((token, len(script.requests)))

    with serve(script) as url:

        async def main() -> tuple[Any, tuple[type[BaseException], str] | None, dict[str, Any]]:
            async with AsyncEightByEightClient(
                settings(url, **overrides), sleep=sleep, uniform=lambda _a, b: b, secret_masker=mask
            ) as client:
                try:
                    return await client.live_agents(), None, client.stats.as_dict()
                except EightByEightError as exc:
                    return None, (type(exc), str(exc)), client.stats.as_dict()

        result, error, stats = asyncio.run(main())
    return outcome(script, stats, result, error, masked)


def outcome(
    script: Script,
    stats: dict[str, Any],
    result: Any,
    error: tuple[type[BaseException], str] | None,
    masked: list[tuple[str, int]],
) -> Outcome:
    headers = [
        (
            path,
            "Authorization" in sent and sent["Authorization"] == f"Bearer {TOKEN}",
            sent.get("X-Tenant-Info"),
        )
        for path, sent, _ in script.sent
    ]
    return Outcome(
        result=result,
        error=error,
        stats=stats,
        masked=masked,
        requests=list(script.requests),
        headers=headers,
        bodies=[body for _, _, body in script.sent],
    )


ONE_PAGE = {"X-Total-Pages": "1"}
BIG = b"[" + b" " * 5000 + b"]"


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


# name: (answers for /agents, settings overrides)
SCENARIOS: dict[str, tuple[list[Answer], dict[str, Any]]] = {
    "ok": ([OK], {}),
    "two_pages": (
        [
            Answer(body=[{"id": "a1"}], headers={"X-Total-Pages": "2"}),
            Answer(body=[{"id": "a2"}], headers={"X-Total-Pages": "2"}),
        ],
        {},
    ),
    "5xx_then_ok": ([Answer(status=503), Answer(status=502), OK], {}),
    "5xx_throughout": ([Answer(status=500)], {}),
    "401_renews_the_token_once": ([Answer(status=401), OK], {}),
    "401_twice_is_fatal": ([Answer(status=401, body={"message": "invalid token"})], {}),
    "429_retry_after_honoured": ([Answer(status=429, headers={"Retry-After": "0.05"}), OK], {}),
    "429_retry_after_too_long": ([Answer(status=429, headers={"Retry-After": "3600"})], {}),
    "403_region_hint": ([Answer(status=403, body={"message": "Forbidden"})], {}),
    "400_tenant_header": ([Answer(status=400, body={"message": "Missing X-Tenant-Info header"})], {}),
    "404_not_retried": ([Answer(status=404)], {}),
    "redirect_not_followed": ([Answer(status=302, headers={"Location": "http://example.invalid/"})], {}),
    "token_quoted_back_is_scrubbed": (
        [Answer(status=403, body={"message": f"token {TOKEN} of {SECRET} refused"})],
        {},
    ),
    "html_then_ok": ([Answer(raw=b"<html>gateway</html>"), OK], {}),
    "html_throughout": ([Answer(raw=b"<html>gateway</html>")], {}),
    "object_where_array": ([Answer(body={"id": "a1"}, headers={"X-Total-Pages": "1"})], {}),
    "no_total_pages": ([Answer(body=[])], {}),
    "declared_too_large": (
        [Answer(raw=b"[" + b" " * 5000 + b"]", headers={"X-Total-Pages": "1"})],
        {"max_response_bytes": 1000},
    ),
    "streamed_too_large": (
        [Answer(raw=b"[" + b" " * 5000 + b"]", headers={"X-Total-Pages": "1"}, length=False)],
        {"max_response_bytes": 1000},
    ),
    "too_deep": ([Answer(raw=nested(200), headers={"X-Total-Pages": "1"})], {}),
    "literals_kept_as_text": (
        [
            Answer(
                raw=b'[{"id": "a1", "n": ' + b"7" * 60 + b', "x": 1e400, "y": NaN}]',
                headers={"X-Total-Pages": "1"},
            )
        ],
        {},
    ),
    "trickle_past_the_deadline": (
        [
            Answer(
                raw=json.dumps([{"id": "a" * 200}]).encode(), headers={"X-Total-Pages": "1"}, trickle_s=0.02
            )
        ],
        {"deadline_s": 0.3, "max_attempts": 2},
    ),
}


def _comparable(error: tuple[type[BaseException], str] | None) -> tuple[type[BaseException], str] | None:
    if error is None:
        return None
    # How many bytes of a trickled body had arrived when the deadline passed is timing, not policy.
    return error[0], re.sub(r"\(\d+ body bytes received\)", "(N body bytes received)", error[1])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_both_clients_apply_the_same_rules(name: str) -> None:
    answers, overrides = SCENARIOS[name]
    sync, aio = run_sync(answers, **overrides), run_async(answers, **overrides)
    assert aio.requests == sync.requests
    assert aio.headers == sync.headers
    assert aio.bodies == sync.bodies  # the token request's form, nothing in metric requests
    assert _comparable(aio.error) == _comparable(sync.error)
    assert aio.result == sync.result
    assert aio.stats == sync.stats
    assert aio.masked == sync.masked
    # Whatever happened, neither the secret nor the token is in an error text.
    for outcome_ in (sync, aio):
        if outcome_.error is not None:
            assert SECRET not in outcome_.error[1]
            assert TOKEN not in outcome_.error[1]


def sync_scenario(name: str) -> Outcome:
    answers, overrides = SCENARIOS[name]
    return run_sync(answers, **overrides)


def test_the_scenarios_cover_every_outcome_the_policy_has() -> None:
    """The table above is only a check of the rules if it exercises each of them."""
    seen: dict[str, Any] = {}
    for name in SCENARIOS:
        result = sync_scenario(name)
        seen[name] = result.error[0] if result.error else "ok"
    assert seen["ok"] == seen["5xx_then_ok"] == seen["401_renews_the_token_once"] == "ok"
    assert seen["5xx_throughout"] is TransientApiError
    assert seen["429_retry_after_too_long"] is TransientApiError
    assert seen["trickle_past_the_deadline"] is TransientApiError
    assert seen["401_twice_is_fatal"] is AuthenticationError
    assert seen["400_tenant_header"] is TenantHeaderError
    assert seen["403_region_hint"] is ApiError
    assert seen["html_throughout"] is ApiError
    assert seen["no_total_pages"] is PaginationError
    assert seen["declared_too_large"] is seen["streamed_too_large"] is seen["too_deep"] is ProtocolError
    renewed = sync_scenario("401_renews_the_token_once")
    assert renewed.stats["token_fetches"] == 2
    assert renewed.stats["token_refreshes_after_401"] == 1
    literals = sync_scenario("literals_kept_as_text")
    assert literals.result == [{"id": "a1", "n": "7" * 60, "x": "1e400", "y": "NaN"}]
    honoured = sync_scenario("429_retry_after_honoured")
    assert honoured.stats["slept_s"] >= 0.05
    # The token is masked once, after its own request and before any request that carries it.
    assert sync_scenario("ok").masked == [(TOKEN, 1)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_retried_then_reported_alike() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    errors: dict[str, BaseException] = {}
    with EightByEightClient(settings(url), sleep=lambda _s: None) as client:
        with pytest.raises(TransientApiError) as caught:
            client.authenticate()
        errors["sync"] = caught.value
        sync_sent = client.stats.requests_sent

    async def main() -> int:
        async with AsyncEightByEightClient(settings(url)) as client:
            with pytest.raises(TransientApiError) as caught:
                await client.authenticate()
            errors["async"] = caught.value
            return client.stats.requests_sent

    assert asyncio.run(main()) == sync_sent == 3
    for error in errors.values():
        assert "failed 3 times" in str(error)
        assert "connection failed" in str(error)


def test_both_clients_read_the_same_agents_from_the_simulator_with_faults() -> None:
    # A fixed clock: the agents' timers must not move between the two reads.
    sim = simulator(
        "Europe/Helsinki",
        "eu",
        agents=30,
        now=datetime(2026, 10, 25, 7, 10, tzinfo=UTC),
        faults="rate=0.3;kinds=429,500,503,reset,revoke;retry_after=0",
    )
    with sim.serve(host="127.0.0.1", port=0) as server:
        live = EightByEightSettings(
            CLIENT_ID, CLIENT_SECRET, "eu", "Europe/Helsinki", base_url=server.base_url,
            max_attempts=10, backoff_base_s=0.001, backoff_cap_s=0.01,
        )  # fmt: skip
        with EightByEightClient(live) as client:
            expected = list(client.iter_live_agents(page_size=7))

        async def main() -> tuple[list[Any], int]:
            async with AsyncEightByEightClient(live) as client:
                return await client.live_agents(page_size=7), client.stats.retries

        agents, retries = asyncio.run(main())
    assert agents == expected
    assert len({a.get("id") for a in agents}) >= 30
    assert retries > 0, "no fault was injected; the comparison proved less than it claims"


@pytest.fixture
def certificate(tmp_path: Path) -> Any:
    from tests.security.test_tls import self_signed

    return self_signed(tmp_path, ["127.0.0.1"])


def test_tls_is_verified_with_the_same_ca_bundle(certificate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script()
    script.add(AGENTS_PATH, OK)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    # An empty variable must not switch verification off either.
    monkeypatch.setenv("CURL_CA_BUNDLE", "")

    def check(url: str) -> tuple[list[Any], int]:
        async def main() -> tuple[list[Any], int]:
            async with AsyncEightByEightClient(replace(settings(url), tenant_id=None)) as client:
                try:
                    return await client.live_agents(), client.stats.requests_sent
                finally:
                    pass

        return asyncio.run(main())

    with serve(script, tls=certificate.server_context()) as url:
        with pytest.raises(ApiError, match="TLS verification failed") as caught:
            check(url)
        assert SECRET not in str(caught.value)
        assert script.requests == []  # nothing got past the handshake, and it was not retried
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate.cert_path))
        agents, sent = check(url)
    assert agents == OK.body
    assert sent == 2
    assert [p for _, p, _ in script.requests] == [TOKEN_PATH, AGENTS_PATH]


def test_the_token_is_masked_before_it_is_used_and_never_in_repr() -> None:
    calls: list[str] = []
    script = Script()
    script.add(AGENTS_PATH, OK)

    def recorder(kind: str) -> Callable[[str], Any]:
        async def mask(token: str) -> None:
            calls.append(f"{kind}:{len(script.requests)}:{token}")

        return mask

    with serve(script) as url:

        async def main() -> str:
            async with AsyncEightByEightClient(settings(url), secret_masker=recorder("mask")) as client:
                await client.live_agents()
                return repr(client)

        text = asyncio.run(main())
    assert calls == [f"mask:1:{TOKEN}"]
    assert TOKEN not in text
    assert SECRET not in text
