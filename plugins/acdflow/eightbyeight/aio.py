"""The 8x8 client of triggers: the plans of :class:`acdflow.eightbyeight.client.BaseEightByEightClient`
carried out with ``httpx`` on the event loop.

Every rule (request building, retries and backoff, token caching and renewal, response parsing and
bounds, secret scrubbing) is the synchronous client's, from the same code; only the transport
differs: sending, reading the body within ``settings.deadline_s`` and ``settings.max_response_bytes``,
and sorting ``httpx``'s exceptions into the kinds of :class:`~acdflow.eightbyeight.client._Failed`
the retry policy judges. TLS is verified against the CA bundle the synchronous client (``requests``)
uses: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else certifi's; never switched off.

Given a ``secret_masker``, tokens are registered with it before they are stored. The live-status
trigger passes none, on purpose (:func:`acdflow.pipeline.live_status.poll_window` says why). This
module does not import Airflow.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, cast

import certifi
import httpx

from acdflow.eightbyeight.client import (
    DEFAULT_LIVE_METRICS,
    MAX_PAGE_SIZE,
    BaseEightByEightClient,
    T,
    _Failed,
    _Overdue,
    _Plan,
    _Received,
    _Send,
    _Step,
    _Wait,
)
from acdflow.eightbyeight.settings import EightByEightSettings

__all__ = ["AsyncEightByEightClient", "ssl_context"]


def ssl_context() -> ssl.SSLContext:
    """A verifying TLS context with the CA bundle ``requests`` would use (module docstring)."""
    # Empty variables count as unset, as requests reads them: they never switch verification off.
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    try:
        changed = os.stat(bundle).st_mtime_ns
    except OSError:
        changed = 0  # let ssl report the missing bundle
    return _context(bundle, changed)


@functools.lru_cache(maxsize=8)
def _context(bundle: str, _changed: int) -> ssl.SSLContext:
    # Reading a bundle of ~150 certificates takes tens of milliseconds of the event loop, which
    # every trigger of the triggerer shares: one context per bundle (and version of it) is shared.
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


class AsyncEightByEightClient(BaseEightByEightClient):
    """Talks to one 8x8 tenant from a coroutine; one request in flight at a time."""

    def __init__(
        self,
        settings: EightByEightSettings,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        secret_masker: Callable[[str], Awaitable[None]] | None = None,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        super().__init__(settings, clock=clock, uniform=uniform)
        self._owns_http = http is None
        # Redirects are never followed (they would resend credentials), as in the sync client.
        self._http = (
            http if http is not None else httpx.AsyncClient(verify=ssl_context(), follow_redirects=False)
        )
        self._sleep_fn = sleep
        self._secret_masker = secret_masker

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncEightByEightClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ API

    async def authenticate(self) -> None:
        """Fetch a fresh token; raises :class:`AuthenticationError` if the credentials are refused."""
        await self._run(self._authenticate_plan())

    async def live_agents(
        self, metrics: Sequence[str] = DEFAULT_LIVE_METRICS, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[Any]:
        """Every element of ``GET {rt}/agents`` for the tenant, as
        :meth:`acdflow.eightbyeight.client.EightByEightClient.iter_live_agents` yields them."""
        return await self._run(self._live_agents_plan(metrics, page_size))

    # ------------------------------------------------------------------ transport: httpx

    async def _run(self, plan: _Plan[T]) -> T:
        """Carry out ``plan`` step by step and return its result."""
        try:
            outcome: Any = None
            while True:
                try:
                    step = plan.send(outcome)
                except StopIteration as done:
                    return cast(T, done.value)
                outcome = await self._perform(step)
        finally:
            plan.close()

    async def _perform(self, step: _Step) -> _Received | _Failed | None:
        if isinstance(step, _Send):
            return await self._attempt(step)
        if isinstance(step, _Wait):
            await self._sleep_fn(step.seconds)
        elif self._secret_masker is not None:
            await self._secret_masker(step.secret)
        return None

    async def _attempt(self, send: _Send) -> _Received | _Failed:
        """One attempt, its failures sorted into the kinds of :class:`_Failed`."""
        try:
            return await self._receive(send)
        except _Overdue as exc:
            return _Failed("overdue", exc)
        except httpx.TimeoutException as exc:
            return _Failed("interrupted", exc)
        except httpx.ConnectError as exc:
            return _Failed("tls" if _is_tls_failure(exc) else "connection", exc)
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            return _Failed("connection", exc)
        except httpx.DecodingError as exc:
            return _Failed("interrupted", exc)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _Failed("unsendable", exc)

    async def _receive(self, send: _Send) -> _Received:
        """Send the request and read the whole answer within ``settings.deadline_s``, each socket
        operation within ``settings.timeout_s``; the body is counted as it arrives against
        ``settings.max_response_bytes``."""
        settings = self.settings
        per_read = min(settings.timeout_s, settings.deadline_s)
        received = 0
        deadline = asyncio.timeout(settings.deadline_s)
        try:
            async with (
                deadline,
                self._http.stream(
                    send.method,
                    send.url,
                    # A tuple: httpx's parameter types are read-only sequences, a list is invariant.
                    params=tuple(send.params) if send.params is not None else None,
                    json=send.json,
                    data=send.data,
                    headers=send.headers,
                    auth=send.auth,
                    timeout=httpx.Timeout(per_read),
                ) as response,
            ):
                self._check_declared_length(response.headers, send.url)
                chunks: list[bytes] = []
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    self._check_received_size(received, send.url)
                    chunks.append(chunk)
                return _Received(
                    status_code=response.status_code, headers=response.headers, content=b"".join(chunks)
                )
        except TimeoutError as exc:
            if deadline.expired():
                raise _Overdue(settings.deadline_s, received) from exc
            raise


def _is_tls_failure(error: BaseException) -> bool:
    """Whether a connection failed in the TLS handshake (``httpx`` wraps the ``ssl`` error)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
