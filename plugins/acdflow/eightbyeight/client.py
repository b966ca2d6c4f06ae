"""The one client through which all 8x8 traffic goes.

It owns the HTTP session, base URLs, timeouts, the OAuth token, retries and pagination, so
integration code asks for rows and never builds URLs. It does not import Airflow; the hook adapts
an Airflow connection to it.

Retry policy in one place (:meth:`EightByEightClient._call`):

* 429, 500, 502, 503, 504, timeouts, connection errors/resets, an attempt whose answer is not
  complete within ``settings.deadline_s`` (connect and every read of the body together), and a 200
  whose body is not the JSON the endpoint must return → retried with capped exponential backoff and
  full jitter, at most ``settings.max_attempts`` attempts, never sooner than ``Retry-After``.
* A body over ``settings.max_response_bytes``, or JSON nested deeper than :data:`MAX_JSON_DEPTH`
  → :class:`ProtocolError` at once (the same request would bring the same answer). Number literals
  over :data:`MAX_NUMBER_LITERAL` characters and ``NaN``/``Infinity`` are kept as their text, so
  the page lands and the transforms quarantine that one row.
* 401 from a metrics endpoint → the token is discarded, a new one fetched, the request retried
  once; a second 401 is fatal (see docs/8x8-api-notes.md, “Authentication: OAuth client
  credentials”).
* 404 on the data of a report this run just created → retried up to 3 times (8x8 does not say
  when new report data becomes readable; see docs/8x8-api-notes.md, “Reading it”).
* Every other status → fatal at once, with a message a person can act on. Retry decisions use the
  status code only; the body's text is only quoted in messages, and only selects which fatal
  error class describes a 400 (``X-Tenant-Info`` problems get :class:`TenantHeaderError`).

One implementation, two transports: :class:`BaseEightByEightClient` holds every rule (request
building, retry classification and backoff, token caching and renewal, response parsing and
bounds, secret scrubbing) as *plans*, generators that say what to do next (send a request, wait,
mask a new token) and decide on what came back. :class:`EightByEightClient` carries them out with
``requests`` for tasks; :class:`acdflow.eightbyeight.aio.AsyncEightByEightClient` with ``httpx``
for triggers. Each transport only sends, reads a body within the deadline and size cap, and
sorts its own exceptions into the kinds of :class:`_Failed`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Literal, NoReturn, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

import requests
import urllib3

from acdflow.eightbyeight.auth import ClientCredentialsAuth, InvalidTokenResponse
from acdflow.eightbyeight.errors import (
    ApiError,
    AuthenticationError,
    EightByEightError,
    PaginationError,
    ProtocolError,
    ReportFailedError,
    ReportNotFoundError,
    TenantHeaderError,
    TransientApiError,
)
from acdflow.eightbyeight.retry import (
    MAX_RETRY_AFTER_S,
    RETRYABLE_STATUSES,
    backoff_delay,
    parse_retry_after,
    server_now,
)
from acdflow.eightbyeight.settings import EightByEightSettings

log = logging.getLogger(__name__)

# The inputs of the product's live-status rule (docs/8x8-api-notes.md, “Live status: realtime `/agents`”).
DEFAULT_LIVE_METRICS: tuple[str, ...] = (
    "status.rt",
    "statusCode.rt",
    "timeOnStatus.rt",
    "lastLogin.rt",
    "lastLogout.rt",
    "loggedInTime.rt",
)
INTERACTION_DETAILS = "detailed-reports-interaction-details"
AGENT_STATUS_CHANGE = "detailed-reports-agent-status-change"

MAX_PAGE_SIZE = 1000  # 8x8's maximum for detailed-report data and for realtime /agents
DATA_NOT_FOUND_RETRIES = 3  # for a report just created; see docs/8x8-api-notes.md, “Reading it”
# The only characters 8x8 allows in a report title. 8x8 documents no maximum length; 255 is our
# assumption, and the simulator enforces the same limit.
TITLE_PATTERN = re.compile(r"^[A-Za-z0-9\s!\-_.*'()]+$")
TITLE_MAX_LENGTH = 255
# 8x8 accepts dateRange values only in this UTC form, "YYYY-MM-DDTHH:MM:SS.SSSZ" (though it reads
# the digits as tenant-local wall clock).
DATE_RANGE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# Realtime paging has no cursor; this bounds a server whose page count keeps growing.
MAX_REALTIME_PAGES = 10_000
# Detailed paging without an X-Total-Pages header falls back to this guard.
MAX_DETAILED_PAGES = 100_000

# No 8x8 answer nests more than a few levels; far deeper JSON would overflow the recursion of the
# JSON readers and writers after the client (the transforms, the warehouse adapter).
MAX_JSON_DEPTH = 128
# Longer number literals stay text: int() refuses over 4,300 digits, and no 8x8 metric needs 40.
MAX_NUMBER_LITERAL = 40
# Bytes asked of one socket read while streaming a body.
_READ_CHUNK_BYTES = 256 * 1024

_Expect = Literal["array", "object", "object_or_array"]
_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    # A reset while the body streams in surfaces as one of these rather than ConnectionError.
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass
class ClientStats:
    """Request accounting of one client, for the warehouse's ``load_runs`` table."""

    requests_sent: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers seen
    slept_s: float = 0.0  # time spent in retry backoff
    token_fetches: int = 0
    token_refreshes_after_401: int = 0

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


@dataclass(frozen=True)
class DetailedPage:
    """One page of a detailed report's data; rows are 8x8's ``{total, items}`` objects."""

    rows: list[dict[str, Any]]
    page_index: int
    total_elements: int | None
    total_pages: int | None
    # The page as 8x8 sent it, UTF-8 JSON that plain ``json.loads`` reads as ``rows``; None when
    # it is not (a literal kept as text, another encoding). Lets the page land without
    # serialising ``rows`` again.
    text: str | None = None


@dataclass(frozen=True)
class _Received:
    """One answer, read whole within the attempt's deadline and size cap."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: Any
    # The body as sent when plain ``json.loads`` reads it as ``body`` (see :func:`read_json`).
    text: str | None = None


# --- the steps of a plan: what a transport carries out ----------------------------------------


@dataclass(frozen=True)
class _Send:
    """Send one request and read its whole answer; the transport answers :class:`_Received` or
    :class:`_Failed`."""

    method: str
    url: str
    params: list[tuple[str, str]] | None
    json: Any
    data: Mapping[str, str] | None
    headers: dict[str, str] = field(repr=False)
    auth: tuple[str, str] | None = field(repr=False)


@dataclass(frozen=True)
class _Wait:
    """Wait this long before the next attempt (retry backoff)."""

    seconds: float


@dataclass(frozen=True)
class _Mask:
    """Register a token just obtained with the secrets masker, before the plan stores it."""

    secret: str = field(repr=False)


@dataclass(frozen=True)
class _Failed:
    """An attempt that brought no answer, sorted by the transport: ``overdue`` (the attempt's
    deadline passed), ``interrupted`` (a read timed out or the body broke off), ``connection`` (no
    connection, or it was reset), ``tls`` (certificate verification or handshake) or
    ``unsendable`` (the request itself is invalid)."""

    kind: Literal["overdue", "interrupted", "connection", "tls", "unsendable"]
    error: BaseException


T = TypeVar("T")
_Step: TypeAlias = _Send | _Wait | _Mask
_Plan: TypeAlias = Generator[_Step, Any, T]


def make_report_title(report_type: str, start: str, *, prefix: str = "acdflow") -> str:
    """A title 8x8 accepts (no ``:``): ``acdflow interaction-details 20251118 084500``."""
    kind = report_type.removeprefix("detailed-reports-")
    digits = re.sub(r"[^0-9]", "", start)
    stamp = f"{digits[:8]} {digits[8:14]}".strip()
    title = re.sub(r"[^A-Za-z0-9\s!\-_.*'()]", " ", f"{prefix} {kind} {stamp}")
    return re.sub(r"\s+", " ", title).strip()[:TITLE_MAX_LENGTH]


def validate_report_title(title: str) -> None:
    if not title or len(title) > TITLE_MAX_LENGTH or not TITLE_PATTERN.match(title):
        raise ValueError(
            f"report title {title!r} is invalid: use 1-{TITLE_MAX_LENGTH} characters from "
            "A-Z a-z 0-9 whitespace ! - _ . * ' ( )"
        )


class BaseEightByEightClient:
    """The rules of talking to one 8x8 tenant, as plans a transport carries out (module docstring).

    Not thread-safe: use one client per task or trigger (acdflow keeps one request in flight per
    tenant, because 8x8 documents no rate limits)."""

    def __init__(
        self,
        settings: EightByEightSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        self.settings = settings
        self.stats = ClientStats()
        self._clock = clock
        self._uniform = uniform
        # Tokens are masked by the transport (a _Mask step), which may have to await the masker.
        self._auth = ClientCredentialsAuth(settings.client_id, settings.client_secret, clock=clock)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(integration={self.settings.integration!r}, "
            f"region={self.settings.region!r}, root={self.settings.root_url!r})"
        )

    # ------------------------------------------------------------------ plans

    def _fetch_token_plan(self) -> _Plan[str]:
        requested_at = self._clock()
        reply = yield from self._call_plan(
            "POST",
            self.settings.token_url,
            data=self._auth.token_form(),
            basic_auth=self._auth.basic_auth,
            expect="object",
        )
        try:
            grant = self._auth.read_token_response(reply.body)
        except InvalidTokenResponse as exc:
            raise ApiError(
                f"the token endpoint answered 200 without a usable token ({exc})",
                status=reply.status,
                **self._where(self.settings.token_url),
            ) from None
        # Before storing, so it is masked before anything could log it.
        yield _Mask(grant.token)
        token = self._auth.store(grant, requested_at=requested_at)
        self.stats.token_fetches += 1
        return token

    def _authenticate_plan(self) -> _Plan[str]:
        self._auth.invalidate()
        return (yield from self._fetch_token_plan())

    def _live_agents_plan(self, metrics: Sequence[str], page_size: int) -> _Plan[list[Any]]:
        """Every element of ``GET {rt}/agents`` (see :meth:`EightByEightClient.iter_live_agents`)."""
        _check_page_size(page_size)
        if not metrics:
            raise ValueError("metrics must name at least one metric (8x8 requires them on /agents)")
        url = f"{self.settings.realtime_base_url}/agents"
        agents: list[Any] = []
        page = 0
        while True:
            # 8x8 accepts both metrics=a&metrics=b and metrics=a,b; the repeated form is used.
            params = [("metrics", m) for m in metrics] + [("page", str(page)), ("size", str(page_size))]
            reply = yield from self._call_plan("GET", url, params=params, expect="array")
            total_pages = self._int_header(reply, "X-Total-Pages", url)
            if total_pages is None:
                raise self._pagination_error("realtime /agents answered without X-Total-Pages", url)
            agents.extend(reply.body)
            # Realtime is a live snapshot: the page count may change between pages, so each
            # answer's own count decides whether another page exists.
            if page + 1 >= total_pages:
                return agents
            page += 1
            if page >= MAX_REALTIME_PAGES:
                raise self._pagination_error(f"realtime /agents still paging at page {page}", url)

    # ------------------------------------------------------------------ the retry policy

    def _call_plan(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        expect: _Expect,
        not_found_retries: int = 0,
    ) -> _Plan[_Reply]:
        """One logical request with the retry policy of the module docstring.

        ``basic_auth`` marks the token request: it carries Basic credentials and no bearer token or
        ``X-Tenant-Info``; every other call is a metrics call with both.
        """
        is_token_call = basic_auth is not None
        endpoint = urlsplit(url).path
        transient_failures = 0
        not_found_seen = 0
        refreshed_after_401 = False
        while True:
            headers = {"Accept": "application/json"}
            if not is_token_call:
                token = self._auth.current_token()
                if token is None:
                    token = yield from self._fetch_token_plan()
                headers["Authorization"] = f"Bearer {token}"
                if self.settings.tenant_id:
                    headers["X-Tenant-Info"] = self.settings.tenant_id
            self.stats.requests_sent += 1
            status: int | None = None
            retry_after: float | None = None
            outcome = yield _Send(
                method,
                url,
                params=list(params) if params is not None else None,
                json=json_body,
                data=data,
                headers=headers,
                auth=basic_auth,
            )
            if isinstance(outcome, _Failed):
                problem = self._failure_problem(outcome, url)
            else:
                response: _Received = outcome
                status = response.status_code
                if status == 200:
                    body, text, body_problem = self._parse_body(response, url, expect)
                    if body_problem is None:
                        return _Reply(status=status, headers=response.headers, body=body, text=text)
                    problem = f"HTTP 200 with {body_problem}"
                elif status == 401 and not is_token_call:
                    if refreshed_after_401:
                        raise AuthenticationError(
                            "8x8 refused a freshly issued token (HTTP 401 twice); the credentials may "
                            "have been revoked or lack the 'analytics realtime-api' product"
                            + self._quoted(response),
                            **self._where(url),
                        )
                    # The token expired or was revoked early; fetch one more and retry.
                    refreshed_after_401 = True
                    self.stats.token_refreshes_after_401 += 1
                    self._auth.invalidate()
                    log.info("8x8 %s %s: HTTP 401, fetching a new token and retrying once", method, endpoint)
                    continue
                elif status == 404 and not_found_seen < not_found_retries:
                    # 8x8 does not say when a new report's data becomes readable; treat the 404 as transient.
                    not_found_seen += 1
                    problem = f"HTTP 404 ({not_found_seen} of {not_found_retries} allowed)"
                elif status in RETRYABLE_STATUSES:
                    problem = f"HTTP {status}" + self._quoted(response)
                    if status == 429:
                        self.stats.rate_limited += 1
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"), now=server_now(response.headers.get("Date"))
                    )
                else:
                    self._raise_fatal(response, url, is_token_call=is_token_call, saw_404=not_found_seen > 0)
            transient_failures += 1
            if transient_failures >= self.settings.max_attempts:
                if status == 200:
                    raise ApiError(
                        f"{method} answered {problem} on all {transient_failures} attempts",
                        status=status,
                        **self._where(url),
                    )
                raise TransientApiError(
                    f"{method} failed {transient_failures} times, giving up; last: {problem}",
                    status=status,
                    attempts=transient_failures,
                    **self._where(url),
                )
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
                raise TransientApiError(
                    f"{method} got {problem} with Retry-After {retry_after:.0f} s, longer than the "
                    f"{MAX_RETRY_AFTER_S:.0f} s this client waits inside one task; retry the task later",
                    status=status,
                    attempts=transient_failures,
                    **self._where(url),
                )
            delay = backoff_delay(
                transient_failures,
                base_s=self.settings.backoff_base_s,
                cap_s=self.settings.backoff_cap_s,
                retry_after_s=retry_after,
                **({"uniform": self._uniform} if self._uniform is not None else {}),
            )
            log.warning(
                "8x8 %s %s: %s; retry %d of %d in %.2f s",
                method,
                endpoint,
                problem,
                transient_failures,
                self.settings.max_attempts - 1,
                delay,
            )
            self.stats.retries += 1
            if delay > 0:
                self.stats.slept_s += delay
                yield _Wait(delay)

    def _failure_problem(self, failure: _Failed, url: str) -> str:
        """What went wrong with an attempt that brought no answer, for the retry log; raises for
        the kinds no retry can fix."""
        error = failure.error
        if failure.kind == "tls":
            # A certificate problem does not heal on retry; verification is never turned off.
            raise ApiError(
                f"TLS verification failed ({type(error).__name__}); check the base URL and the "
                "system's CA certificates",
                status=None,
                **self._where(url),
            ) from error
        if failure.kind == "unsendable":
            # An invalid URL or a bad header value is a bug or bad configuration.
            raise ApiError(
                f"request could not be sent ({type(error).__name__})", status=None, **self._where(url)
            ) from error
        if failure.kind == "overdue":
            return str(error)
        if failure.kind == "connection":
            return f"connection failed ({type(error).__name__})"
        return f"{type(error).__name__} after {self.settings.timeout_s:g} s timeout budget"

    def _check_declared_length(self, headers: Mapping[str, str], url: str) -> None:
        limit = self.settings.max_response_bytes
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(f"declares {int(declared)} bytes", url)

    def _check_received_size(self, size: int, url: str) -> None:
        limit = self.settings.max_response_bytes
        if size > limit:
            raise self._too_large(f"sent more than {limit} bytes", url)

    # ------------------------------------------------------------------ answers

    def _too_large(self, what: str, url: str) -> ProtocolError:
        limit = self.settings.max_response_bytes
        return ProtocolError(
            f"the response {what}, over the {limit} byte cap (max_response_bytes); "
            "a page of 8x8 data is far smaller, so the answer is not read",
            status=None,
            **self._where(url),
        )

    def _parse_body(
        self, response: _Received, url: str, expect: _Expect
    ) -> tuple[Any, str | None, str | None]:
        """The JSON body, its text when plain ``json.loads`` reads it the same (UTF-8 with no
        literal kept as text), or a description of why it is not what the endpoint must return.

        A 200 with an empty or non-JSON body (a proxy's HTML page, a truncated transfer) is treated
        as transient: the same request usually succeeds, and a page silently read as "no rows"
        would end pagination early and load partial data. JSON nested deeper than
        :data:`MAX_JSON_DEPTH` raises :class:`ProtocolError`: no 8x8 answer is, and deeper data
        would overflow the recursion of every JSON reader and writer after this one.
        """
        if not response.content:
            return None, None, "an empty body"
        try:
            body, verbatim = read_json(response.content)
        except _TooDeep:
            raise ProtocolError(
                f"response nested deeper than {MAX_JSON_DEPTH} levels; refusing to read it",
                status=response.status_code,
                **self._where(url),
            ) from None
        except ValueError:
            return None, None, "a body that is not JSON"
        if expect == "array" and not isinstance(body, list):
            return None, None, f"a JSON {type(body).__name__} where an array was expected"
        if expect == "object" and not isinstance(body, dict):
            return None, None, f"a JSON {type(body).__name__} where an object was expected"
        if expect == "object_or_array" and not isinstance(body, dict | list):
            return None, None, f"a JSON {type(body).__name__} where an object was expected"
        text: str | None = None
        if verbatim and expect == "array" and json.detect_encoding(response.content) == "utf-8":
            try:
                text = response.content.decode("utf-8")
            except UnicodeDecodeError:  # encoded surrogates, which json.loads lets through
                text = None
        return body, text, None

    def _raise_fatal(self, response: _Received, url: str, *, is_token_call: bool, saw_404: bool) -> NoReturn:
        status = response.status_code
        quoted = self._quoted(response)
        where = self._where(url)
        if is_token_call:
            if status in (400, 401):
                raise AuthenticationError(
                    f"the token endpoint refused the credentials (HTTP {status}): check Client ID / "
                    f"Client secret of the connection{quoted}",
                    **where,
                )
            if status == 403:
                raise AuthenticationError(
                    f"the token endpoint answered HTTP 403: the API key may be disabled; check it in "
                    f"8x8 Admin Console > API Keys{quoted}",
                    **where,
                )
        elif status == 400 and "x-tenant-info" in _display_text(response).lower():
            if self.settings.tenant_id:
                hint = (
                    f"8x8 does not accept tenant id {self.settings.tenant_id!r} for these credentials; "
                    "fix extra 'tenant_id' of the connection"
                )
            else:
                hint = (
                    "these credentials cover several 8x8 tenants; set extra 'tenant_id' of the "
                    "connection to the tenant to import"
                )
            raise TenantHeaderError(f"HTTP 400 about X-Tenant-Info: {hint}{quoted}", status=status, **where)
        elif status == 403:
            others = ", ".join(r.upper() for r in ("us", "eu", "au", "ca") if r != self.settings.region)
            raise ApiError(
                f"HTTP 403 Forbidden: the account region is probably wrong (configured "
                f"{self.settings.region.upper()}; the tenant may be in {others}) or the API key lacks the "
                f"'analytics realtime-api' product{quoted}",
                status=status,
                **where,
            )
        if status == 404 and saw_404:
            raise ReportNotFoundError(
                f"HTTP 404 on report data after {DATA_NOT_FOUND_RETRIES} retries; the report may have "
                f"expired or belong to another tenant; create it again{quoted}",
                status=status,
                **where,
            )
        if 300 <= status < 400:
            raise ApiError(
                f"unexpected redirect HTTP {status} (not followed, it would resend credentials); "
                "check the base URL",
                status=status,
                **where,
            )
        raise ApiError(f"HTTP {status}, not retried{quoted}", status=status, **where)

    # ------------------------------------------------------------------ helpers

    def _where(self, url: str) -> dict[str, Any]:
        return {
            "integration": self.settings.integration,
            "region": self.settings.region,
            "endpoint": urlsplit(url).path,
        }

    def _scrub(self, text: str) -> str:
        """Remove the secret and the current token from text quoted from a response."""
        for secret in self._auth.secrets():
            text = text.replace(secret, "***")
        return text

    def _quoted(self, response: _Received) -> str:
        text = _display_text(response)
        return f" (8x8 said: {self._scrub(text)})" if text else ""

    def _report_status(self, body: Any, url: str) -> tuple[int, str, str | None]:
        # The guide shows an object, the OpenAPI description a one-element array of it; accept both.
        item = body
        if isinstance(body, list):
            if len(body) != 1:
                raise ApiError(
                    f"expected one report status, got an array of {len(body)}", status=200, **self._where(url)
                )
            item = body[0]
        if not isinstance(item, dict):
            raise ApiError("report status is not a JSON object", status=200, **self._where(url))
        raw_id = item.get("id")
        report_id = -1
        if isinstance(raw_id, int | str) and not isinstance(raw_id, bool):
            try:
                report_id = int(raw_id)
            except ValueError:
                report_id = -1
        if report_id < 0:
            raise ApiError(f"report status has no valid id ({raw_id!r})", status=200, **self._where(url))
        status = item.get("status")
        reason = item.get("reason")
        return report_id, str(status) if status is not None else "", str(reason) if reason else None

    def _int_header(self, reply: _Reply, name: str, url: str) -> int | None:
        raw = reply.headers.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise self._pagination_error(f"header {name}={raw!r} is not an integer", url) from None
        if value < 0:
            raise self._pagination_error(f"header {name}={raw!r} is negative", url)
        return value

    def _pagination_error(self, message: str, url: str) -> EightByEightError:
        return PaginationError(message, **self._where(url))


class EightByEightClient(BaseEightByEightClient):
    """The client of tasks: the plans of :class:`BaseEightByEightClient` over ``requests``."""

    def __init__(
        self,
        settings: EightByEightSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        secret_masker: Callable[[str], None] | None = None,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        super().__init__(settings, clock=clock, uniform=uniform)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._sleep_fn = sleep
        self._secret_masker = secret_masker

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> EightByEightClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ authentication

    def authenticate(self) -> None:
        """Fetch a fresh token; raises :class:`AuthenticationError` if the credentials are refused."""
        self._run(self._authenticate_plan())

    def check_access(self) -> None:
        """Authenticate, then make one cheap realtime call to prove region, product and tenant.

        A token alone proves only the Client ID and secret: the token endpoint is the same for every
        region and takes no ``X-Tenant-Info``, so a wrong region (403) or a missing tenant
        id (400) shows up only on a metrics call.
        """
        self.authenticate()
        self._call(
            "GET",
            f"{self.settings.realtime_base_url}/agents",
            params=[("summary", "true"), ("page", "0"), ("size", "1")],
            expect="array",
        )

    # ------------------------------------------------------------------ detailed reports

    def create_detailed_report(
        self,
        report_type: str,
        *,
        start: str,
        end: str,
        timezone: str | None,
        metrics: Sequence[str] | None = None,
        include_participants: bool = False,
        search_query: Sequence[Mapping[str, Any]] | None = None,
        title: str | None = None,
        report_settings: Mapping[str, Any] | None = None,
    ) -> int:
        """Create a detailed report and return its id; 8x8 generates it at once, so it is DONE.

        ``start``/``end`` are already-formatted ``YYYY-MM-DDTHH:MM:SS.SSSZ`` wall-clock strings
        (the correction for 8x8 reading them as tenant-local time is decided elsewhere).
        ``timezone=None`` omits the field, so 8x8 uses the tenant's default zone.
        """
        if not report_type.startswith("detailed-reports-"):
            raise ValueError(f"{report_type!r} is not a detailed report type")
        for name, value in (("start", start), ("end", end)):
            if not DATE_RANGE_PATTERN.match(value):
                raise ValueError(f"{name}={value!r} is not formatted as YYYY-MM-DDTHH:MM:SS.SSSZ")
        if include_participants and report_type != INTERACTION_DETAILS:
            raise ValueError(f"includeParticipants is only valid for {INTERACTION_DETAILS}")
        title = title if title is not None else make_report_title(report_type, start)
        validate_report_title(title)
        body: dict[str, Any] = {
            "type": report_type,
            "title": title,
            "dateRange": {"start": start, "end": end},
        }
        if timezone is not None:
            body["timezone"] = timezone
        if metrics:
            body["metrics"] = list(metrics)
        if search_query:
            body["searchQuery"] = [dict(item) for item in search_query]
        if include_participants:
            body["includeParticipants"] = True
        if report_settings:
            body["reportSettings"] = dict(report_settings)
        url = f"{self.settings.historical_base_url}/detailed-reports"
        reply = self._call("POST", url, json_body=body, expect="object_or_array")
        report_id, status, reason = self._report_status(reply.body, url)
        if status != "DONE":
            # Anything but DONE fails this run: 8x8 generates a detailed report synchronously, so
            # there is nothing to poll.
            raise ReportFailedError(
                f"detailed report {report_id} ({report_type}, {start} .. {end}) has status {status!r}"
                + (f": {self._scrub(reason)}" if reason else ""),
                report_id=report_id,
                status=status,
                reason=reason,
                **self._where(url),
            )
        return report_id

    def iter_detailed_pages(
        self, report_id: int, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[DetailedPage]:
        """Page through a detailed report by its ``Last-Document-Id`` cursor.

        Pages are yielded as they arrive, so memory is bounded by one page whatever the report size.
        Checks: a cursor never repeats; the rows read equal ``X-Total-Elements``; the non-empty pages
        equal ``X-Total-Pages``; the totals do not change between pages (a report is an immutable
        snapshot); and the page loop stops after ``X-Total-Pages`` + 1 requests. The checks
        that need the whole report run after the last page: callers must load transactionally.
        """
        _check_page_size(page_size)
        url = f"{self.settings.historical_base_url}/detailed-reports/{report_id}/data"
        cursor: str | None = None
        seen_cursors: set[str] = set()
        fetched = 0
        non_empty_pages = 0
        first_totals: tuple[int | None, int | None] | None = None
        page_index = 0
        while True:
            params: list[tuple[str, str]] = [("size", str(page_size))]
            if cursor is not None:
                params.append(("lastDocumentId", cursor))
            reply = self._call(
                "GET", url, params=params, expect="array", not_found_retries=DATA_NOT_FOUND_RETRIES
            )
            rows: list[dict[str, Any]] = reply.body
            page_text = reply.text
            total_elements = self._int_header(reply, "X-Total-Elements", url)
            total_pages = self._int_header(reply, "X-Total-Pages", url)
            if first_totals is None:
                first_totals = (total_elements, total_pages)
            elif first_totals != (total_elements, total_pages):
                raise self._pagination_error(
                    f"report {report_id}: totals changed between pages (X-Total-Elements/X-Total-Pages "
                    f"{first_totals[0]}/{first_totals[1]} on page 0, {total_elements}/{total_pages} on "
                    f"page {page_index})",
                    url,
                )
            fetched += len(rows)
            page_was_empty = not rows
            if not page_was_empty:
                non_empty_pages += 1
            if total_elements is not None and fetched > total_elements:
                raise self._pagination_error(
                    f"report {report_id}: read {fetched} rows by page {page_index}, more than "
                    f"X-Total-Elements={total_elements}",
                    url,
                )
            next_cursor = reply.headers.get("Last-Document-Id") or None
            # Drop our references before yielding: the caller's page is then the only one alive.
            del reply
            yield DetailedPage(
                rows=rows,
                page_index=page_index,
                total_elements=total_elements,
                total_pages=total_pages,
                text=page_text,
            )
            del page_text
            del rows
            if next_cursor is None or page_was_empty:
                break  # the documented end-of-data signal (no Last-Document-Id, or an empty page)
            if total_elements is not None and fetched >= total_elements:
                # Safety net: everything announced has been read even though 8x8 still
                # offers a cursor; following it could only repeat rows.
                log.warning(
                    "8x8 report %s: all %s rows read but a next cursor was still offered; stopping",
                    report_id,
                    total_elements,
                )
                break
            if next_cursor in seen_cursors or next_cursor == cursor:
                raise self._pagination_error(
                    f"report {report_id}: 8x8 returned the same Last-Document-Id cursor twice "
                    f"(page {page_index}); stopping instead of looping",
                    url,
                )
            seen_cursors.add(next_cursor)
            cursor = next_cursor
            page_index += 1
            guard = (total_pages + 1) if total_pages is not None else MAX_DETAILED_PAGES
            if page_index >= guard:
                raise self._pagination_error(
                    f"report {report_id}: still paging after {page_index} pages although "
                    f"X-Total-Pages={total_pages}; stopping (loop guard)",
                    url,
                )
        self._check_totals(report_id, url, fetched, non_empty_pages, first_totals)

    def iter_detailed_rows(
        self, report_id: int, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Rows of a detailed report, streamed page by page (see :meth:`iter_detailed_pages`)."""
        for page in self.iter_detailed_pages(report_id, page_size=page_size):
            rows = page.rows
            # Without these dels the finished page stays referenced while the next one is fetched.
            del page
            yield from rows
            del rows

    def _check_totals(
        self,
        report_id: int,
        url: str,
        fetched: int,
        non_empty_pages: int,
        totals: tuple[int | None, int | None] | None,
    ) -> None:
        total_elements, total_pages = totals if totals is not None else (None, None)
        if total_elements is not None and fetched != total_elements:
            raise self._pagination_error(
                f"report {report_id}: read {fetched} rows but X-Total-Elements={total_elements}",
                url,
            )
        if total_pages is not None and non_empty_pages != total_pages:
            raise self._pagination_error(
                f"report {report_id}: read {non_empty_pages} non-empty pages but X-Total-Pages={total_pages}",
                url,
            )

    # ------------------------------------------------------------------ realtime

    def iter_live_agents(
        self, metrics: Sequence[str] = DEFAULT_LIVE_METRICS, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[Any]:
        """Every element of ``GET {rt}/agents`` for the tenant.

        Pages 0 .. X-Total-Pages-1, never past the end (that is a 400, not an empty page); zero
        pages yields nothing. Elements are yielded as received, including a totals element
        (``id: null``) or anything malformed: the live mapping skips those and counts them with a
        reason, so nothing 8x8 sent can vanish without a trace.
        """
        yield from self._run(self._live_agents_plan(metrics, page_size))

    # ------------------------------------------------------------------ transport: requests

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        expect: _Expect,
        not_found_retries: int = 0,
    ) -> _Reply:
        """One logical request (:meth:`BaseEightByEightClient._call_plan`), carried out."""
        return self._run(
            self._call_plan(
                method,
                url,
                params=params,
                json_body=json_body,
                data=data,
                basic_auth=basic_auth,
                expect=expect,
                not_found_retries=not_found_retries,
            )
        )

    def _run(self, plan: _Plan[T]) -> T:
        """Carry out ``plan`` step by step and return its result."""
        try:
            outcome: Any = None
            while True:
                try:
                    step = plan.send(outcome)
                except StopIteration as done:
                    return cast(T, done.value)
                outcome = self._perform(step)
        finally:
            plan.close()

    def _perform(self, step: _Step) -> _Received | _Failed | None:
        if isinstance(step, _Send):
            return self._attempt(step)
        if isinstance(step, _Wait):
            self._sleep_fn(step.seconds)
        elif self._secret_masker is not None:
            self._secret_masker(step.secret)
        return None

    def _attempt(self, send: _Send) -> _Received | _Failed:
        """One attempt, its failures sorted into the kinds of :class:`_Failed`."""
        try:
            return self._receive(send)
        except _Overdue as exc:
            return _Failed("overdue", exc)
        except requests.exceptions.SSLError as exc:
            return _Failed("tls", exc)
        except _TRANSPORT_ERRORS as exc:
            connection = isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout)
            return _Failed("connection" if connection else "interrupted", exc)
        except requests.RequestException as exc:
            return _Failed("unsendable", exc)

    def _receive(self, send: _Send) -> _Received:
        """One attempt: send the request and read the whole answer within ``settings.deadline_s``.

        The body is streamed so that the deadline and ``settings.max_response_bytes`` are checked
        as it arrives: requests' own timeout bounds each socket read, not the whole answer, so a
        server sending a byte every few seconds would otherwise never time out. Each read waits
        at most until the deadline. Raises :class:`_Overdue` when the deadline passes and
        :class:`ProtocolError` for a body over the cap.
        """
        settings = self.settings
        deadline = time.monotonic() + settings.deadline_s
        per_read = min(settings.timeout_s, settings.deadline_s)
        response = self._session.request(
            send.method,
            send.url,
            params=send.params,
            json=send.json,
            data=send.data,
            headers=send.headers,
            auth=send.auth,
            timeout=(per_read, per_read),
            verify=True,  # TLS verification is never optional
            allow_redirects=False,
            stream=True,
        )
        try:
            content = self._read_body(response, send.url, deadline=deadline)
        except BaseException:
            response.close()  # unread data: the connection cannot go back to the pool
            raise
        return _Received(status_code=response.status_code, headers=response.headers, content=content)

    def _read_body(self, response: requests.Response, url: str, *, deadline: float) -> bytes:
        self._check_declared_length(response.headers, url)
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Overdue(self.settings.deadline_s, size)
            _limit_next_read(raw, min(self.settings.timeout_s, remaining))
            try:
                # read1 returns whatever one socket read brings, so the deadline is checked between
                # small reads, not after a large block that a trickling server never completes.
                chunk = raw.read1(_READ_CHUNK_BYTES, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                if time.monotonic() >= deadline:
                    raise _Overdue(self.settings.deadline_s, size) from exc
                raise requests.exceptions.ReadTimeout(exc) from exc
            except urllib3.exceptions.DecodeError as exc:
                raise requests.exceptions.ContentDecodingError(exc) from exc
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError) as exc:
                raise requests.exceptions.ChunkedEncodingError(exc) from exc
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            self._check_received_size(size, url)
            chunks.append(chunk)


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")


def _display_text(response: _Received) -> str:
    """A short human text from an error body, for messages only (never for decisions)."""
    try:
        body = loads_json(response.content) if response.content else None
    except (ValueError, _TooDeep):
        body = None
    text: Any = None
    if isinstance(body, dict):
        fault = body.get("fault")
        text = (
            body.get("message")
            or body.get("Error")
            or (fault.get("faultstring") if isinstance(fault, dict) else None)
        )
    if not isinstance(text, str):
        return ""
    flat: str = " ".join(text.split())
    return flat[:200] + ("..." if len(flat) > 200 else "")


class _Overdue(Exception):
    """One attempt passed its deadline before the whole answer arrived (retried like a timeout)."""

    def __init__(self, deadline_s: float, received: int) -> None:
        super().__init__(
            f"no complete answer within the {deadline_s:g} s deadline ({received} body bytes received)"
        )


class _TooDeep(Exception):
    pass


def _limit_next_read(raw: Any, seconds: float) -> None:
    """Make the next socket read wait at most ``seconds`` (urllib3 fixed it when the request began)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


class _Literals:
    """``json.loads`` hooks that keep absurd literals as their text, noting whether any was kept."""

    __slots__ = ("kept",)

    def __init__(self) -> None:
        self.kept = False

    def _number(self, literal: str, convert: Callable[[str], int | float]) -> int | float | str:
        if len(literal) > MAX_NUMBER_LITERAL:
            self.kept = True
            return literal
        value = convert(literal)
        if isinstance(value, float) and not math.isfinite(value):
            self.kept = True
            return literal  # 1e999: no float holds it, and jsonb refuses Infinity
        return value

    def parse_int(self, literal: str) -> int | float | str:
        return self._number(literal, int)

    def parse_float(self, literal: str) -> int | float | str:
        return self._number(literal, float)

    def parse_constant(self, literal: str) -> str:
        # Python reads NaN and Infinity as floats that jsonb refuses; as text the row lands, and
        # the transforms judge it like any other value of the wrong type.
        self.kept = True
        return literal


def loads_json(content: bytes | str) -> Any:
    """JSON as 8x8 data is landed: number literals longer than :data:`MAX_NUMBER_LITERAL`
    characters, out-of-range floats and ``NaN``/``Infinity`` stay the literal's text (a ``str``),
    so one absurd value costs its row, not its page. Raises :class:`_TooDeep` for JSON nested
    deeper than :data:`MAX_JSON_DEPTH`, and ValueError for anything that is not JSON."""
    return read_json(content)[0]


def read_json(content: bytes | str) -> tuple[Any, bool]:
    """:func:`loads_json`'s value, and whether it is also what plain ``json.loads`` reads from
    ``content`` (no literal was kept as text)."""
    literals = _Literals()
    try:
        value = json.loads(
            content,
            parse_int=literals.parse_int,
            parse_float=literals.parse_float,
            parse_constant=literals.parse_constant,
        )
    except RecursionError:
        raise _TooDeep from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise _TooDeep
    return value, not literals.kept


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` deep, one level at a time.

    Level by level rather than recursively (a recursive walk would hit the very limit this
    guards), and by comprehensions over each level: every page of every report goes through here,
    and a per-container stack walk cost a third of the time of parsing the page."""
    level: list[Any] = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        extend = below.extend
        for item in level:
            extend(
                [
                    child
                    for child in (item.values() if type(item) is dict else item)
                    if type(child) is dict or type(child) is list
                ]
            )
        level = below
    return False
