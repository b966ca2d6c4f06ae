"""The simulator: tenants, tokens, reports, faults, the request log and HTTP-agnostic routing.

``Simulator.handle`` turns one request into one ``Response``; ``acdflow_dev.sim.server`` only moves
bytes. Order of checks on the metrics APIs (8x8 does not document one; this is the simulator's):
bearer token (401) → ``X-Tenant-Info`` (400) → region (403) → version (404) → route (404/405) →
``Accept`` (406) → the endpoint.
Token lifetimes and report retention run on the simulator clock, so tests can expire them with
``clock.advance``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from acdflow_dev.sim.catalog import DETAILED_TYPES, FIELDS_BY_TYPE, OPERATORS
from acdflow_dev.sim.clock import SimClock
from acdflow_dev.sim.config import REGIONS, SimConfig
from acdflow_dev.sim.errors import ApiError, bad_request
from acdflow_dev.sim.faults import FaultInjector
from acdflow_dev.sim.realtime import agents_response, int_param
from acdflow_dev.sim.reports import (
    ReportStore,
    create_detailed,
    encode_cursor,
    link_header,
    quote_cursor,
)
from acdflow_dev.sim.tenant import TenantState

if TYPE_CHECKING:
    from acdflow_dev.sim.groundtruth import GroundTruth
    from acdflow_dev.sim.server import SimServer

HIST_JSON = "application/json;charset=UTF-8"
RT_JSON = "application/json"
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a secret
API_RE = re.compile(
    r"^(?P<prefix>/eu|/au|/ca)?/analytics/cc/(?P<version>v\d+)/(?P<api>historical-metrics|realtime-metrics)"
    r"(?P<rest>/.*)?$"
)
INVALID_TOKEN: dict[str, object] = {
    "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
}
EXPIRED_TOKEN: dict[str, object] = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}
SPIKE_ARREST: dict[str, object] = {
    "fault": {
        "faultstring": "Spike arrest violation",
        "detail": {"errorcode": "policies.ratelimit.SpikeArrestViolation"},
    }
}
GATEWAY_FAULTS = {
    500: ("Internal Server Error", "messaging.adaptors.http.flow.InternalServerError"),
    502: ("Bad Gateway", "messaging.adaptors.http.flow.BadGateway"),
    503: ("The Service is temporarily unavailable", "messaging.adaptors.http.flow.ServiceUnavailable"),
    504: ("Gateway Timeout", "messaging.adaptors.http.flow.GatewayTimeout"),
}
PRODUCTS = ["analytics product", "analytics realtime-api"]


@dataclass
class RequestRecord:
    """One logged request to the token endpoint or a metrics API (admin calls are not logged)."""

    method: str
    path: str
    query: str
    status: int
    started_at: float
    finished_at: float
    tenant_id: str | None = None
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = RT_JSON
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def json_response(status: int, payload: object, content_type: str = RT_JSON, **headers: str) -> Response:
    return Response(status, json.dumps(payload).encode(), content_type, dict(headers))


@dataclass
class RequestContext:
    tenant_id: str | None = None
    fault: str | None = None


class Simulator:
    """A deterministic, in-process 8x8 contact-center analytics API."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = SimClock(config.now)
        self.faults = FaultInjector(config.seed, config.faults)
        self.tenants: dict[str, TenantState] = {t.tenant_id: TenantState(config, t) for t in config.tenants}
        self.reports = ReportStore(config.first_report_id, int(config.report_retention_hours * 3_600_000))
        self._tokens: dict[str, int] = {}
        self._issued: list[str] = []  # every token ever issued, revoked or not: for leak scans
        self._token_lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()

    # -- Python API ---------------------------------------------------------------------------------

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[SimServer]:
        from acdflow_dev.sim.server import SimServer

        server = SimServer(self, host, port)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def revoke_tokens(self) -> None:
        with self._token_lock:
            self._tokens.clear()

    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def log_request(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(record)

    def ground_truth(self, tenant_id: str | None = None) -> GroundTruth:
        from acdflow_dev.sim.groundtruth import GroundTruth

        tenant = self.config.tenant(tenant_id)
        return GroundTruth(self, self.tenants[tenant.tenant_id])

    def tenant_state(self, tenant_id: str | None = None) -> TenantState:
        return self.tenants[self.config.tenant(tenant_id).tenant_id]

    def issue_token(self) -> tuple[str, int]:
        """A token valid for ``token_ttl_seconds`` of simulator time (tests may call it directly)."""
        now = self.clock.now_ms()
        token = secrets.token_urlsafe(21)[:28]
        with self._token_lock:
            self._tokens[token] = now + self.config.token_ttl_seconds * 1000
            self._issued.append(token)
        return token, now

    def issued_tokens(self) -> list[str]:
        """Every bearer token this simulator has handed out, so tests can search for leaks."""
        with self._token_lock:
            return list(self._issued)

    # -- HTTP-agnostic handling ---------------------------------------------------------------------

    @staticmethod
    def is_api_path(path: str) -> bool:
        return path == TOKEN_PATH or API_RE.match(path) is not None

    def fault_response(self, kind: str, ctx: RequestContext) -> Response | None:
        """The response of an injected fault (``None`` = answer normally)."""
        if kind == "latency":
            return None
        if kind == "reset":
            return Response(0, reset=True)
        if kind == "revoke":
            self.revoke_tokens()
            return json_response(401, INVALID_TOKEN)
        status = int(kind)
        if status == 429:
            return json_response(429, SPIKE_ARREST, **{"Retry-After": str(self.faults.retry_after)})
        if status in GATEWAY_FAULTS:
            text, code = GATEWAY_FAULTS[status]
            return json_response(status, {"fault": {"faultstring": text, "detail": {"errorcode": code}}})
        if status == 401:
            return json_response(401, INVALID_TOKEN)
        return json_response(status, {"message": f"Injected fault {status}"})

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        host: str,
        ctx: RequestContext,
    ) -> Response:
        if path == TOKEN_PATH:
            return self._token(method, headers, body)
        match = API_RE.match(path)
        if match is None:
            return json_response(404, {"message": "Not found"})
        historical = match.group("api") == "historical-metrics"
        ctype = HIST_JSON if historical else RT_JSON
        try:
            self._check_bearer(headers)
            tenant = self._resolve_tenant(headers)
            ctx.tenant_id = tenant.tenant_id
            prefix = match.group("prefix") or ""
            if REGIONS[tenant.config.region] != prefix:
                raise ApiError(403, "Forbidden")
            if match.group("version") != ("v8" if historical else "v5"):
                raise ApiError(404, "Not found")
            base = f"http://{host}{prefix}/analytics/cc/{match.group('version')}/{match.group('api')}"
            rest = match.group("rest") or ""
            params = parse_qs(query, keep_blank_values=True)
            if historical:
                return self._historical(method, rest, params, headers, body, tenant, base)
            return self._realtime(method, rest, params, headers, tenant)
        except ApiError as exc:
            return json_response(exc.status, exc.body, ctype)

    # -- token --------------------------------------------------------------------------------------

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        if method != "POST":
            return json_response(405, {"message": "Method not allowed"}, Allow="POST")
        auth = headers.get("authorization", "")
        client_ok = False
        if auth[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
                client_id, _, secret = decoded.partition(":")
                client_ok = client_id == self.config.client_id and secret == self.config.client_secret
            except (binascii.Error, UnicodeDecodeError):
                client_ok = False
        if not client_ok:
            return json_response(401, {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"})
        try:
            form = parse_qs(body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        grant = (form.get("grant_type") or [""])[-1]
        if grant != "client_credentials":
            return json_response(
                400, {"ErrorCode": "invalid_request", "Error": f"Unsupported grant type : {grant}"}
            )
        token, issued = self.issue_token()
        return json_response(
            200,
            {
                "refresh_token_expires_in": "0",
                "api_product_list": "[" + ", ".join(PRODUCTS) + "]",
                "api_product_list_json": PRODUCTS,
                "developer.email": "deprecated",
                "token_type": "BearerToken",
                "issued_at": str(issued),
                "client_id": "deprecated",
                "access_token": token,
                "scope": "",
                "expires_in": str(self.config.token_ttl_seconds - 1),
                "refresh_count": "0",
                "status": "approved",
            },
        )

    # -- common checks ------------------------------------------------------------------------------

    def _check_bearer(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() != "bearer ":
            raise ApiError(401, body=INVALID_TOKEN)
        token = auth[7:].strip()
        with self._token_lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            raise ApiError(401, body=INVALID_TOKEN)
        if self.clock.now_ms() >= expiry:
            raise ApiError(401, body=EXPIRED_TOKEN)

    def _resolve_tenant(self, headers: dict[str, str]) -> TenantState:
        value = headers.get("x-tenant-info")
        if value is None:
            if self.config.multi_tenant:
                raise bad_request("X-Tenant-Info header is missing.")
            return next(iter(self.tenants.values()))
        tenant = self.tenants.get(value.strip())
        if tenant is None:
            raise bad_request("Invalid value for X-Tenant-Info header.")
        return tenant

    @staticmethod
    def _accepts(headers: dict[str, str], produced: tuple[str, ...]) -> bool:
        accept = headers.get("accept")
        if accept is None or not accept.strip():
            return True
        for part in accept.split(","):
            media = part.split(";")[0].strip().lower()
            if media in ("*/*", *produced) or (
                media.endswith("/*") and any(p.startswith(media[:-1]) for p in produced)
            ):
                return True
        return False

    def _require(self, method: str, allowed: str, headers: dict[str, str], produced: tuple[str, ...]) -> None:
        if method != allowed:
            raise ApiError(405, "Method not allowed")
        if not self._accepts(headers, produced):
            raise ApiError(406, "Not acceptable")

    # -- historical ---------------------------------------------------------------------------------

    def _historical(
        self,
        method: str,
        rest: str,
        params: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        tenant: TenantState,
        base: str,
    ) -> Response:
        json_types = ("application/json",)
        parts = [p for p in rest.split("/") if p]
        now = self.clock.now_ms()
        if parts == ["report-types"]:
            self._require(method, "GET", headers, json_types)
            return json_response(200, self._report_types(), HIST_JSON)
        if len(parts) == 2 and parts[0] == "report-types":
            self._require(method, "GET", headers, json_types)
            found = [t for t in self._report_types() if t["type"] == parts[1]]
            if not found:
                raise ApiError(404, "Not found")
            return json_response(200, found[0], HIST_JSON)
        if parts == ["detailed-reports"]:
            self._require(method, "POST", headers, json_types)
            payload = self._json_body(body)
            report = create_detailed(
                tenant,
                payload,
                report_id=self.reports.next_id(),
                now_ms=now,
                quirk=self.config.quirk,
                faults=self.faults,
                seed=self.config.seed,
                legacy_durations=self.config.legacy_duration_strings,
                status_case=self.config.agent_status_case,
                honor_timezone=not self.config.ignore_report_timezone,
            )
            self.reports.add_detailed(report)
            result: dict[str, Any] = {"id": report.report_id, "status": report.status}
            extra: dict[str, str] = {}
            if report.status == "FAILED":
                result["reason"] = report.reason
            else:
                extra["Link"] = link_header(
                    f"{base}/detailed-reports/{report.report_id}/data?size=100", "data"
                )
            out: object = [result] if self.config.detailed_create_as_array else result
            return json_response(200, out, HIST_JSON, **extra)
        if len(parts) == 3 and parts[0] == "detailed-reports" and parts[2] == "data":
            if not parts[1].isdigit():
                raise ApiError(404, "Not found")
            self._require(method, "GET", headers, json_types)
            return self._detailed_data(int(parts[1]), params, tenant, base, now)
        raise ApiError(404, "Not found")

    @staticmethod
    def _json_body(body: bytes) -> Any:
        try:
            return json.loads(body.decode() or "null")
        except (UnicodeDecodeError, ValueError):
            raise bad_request("Malformed JSON request body") from None

    def _size(self, params: dict[str, list[str]]) -> int:
        size = int_param(params, "size", 100)
        if size > 1000:
            raise bad_request("Field 'size' must be less than or equal to 1000")
        if size < 1:
            raise bad_request("Field 'size' must be greater than or equal to 1")
        return size

    def _detailed_data(
        self, report_id: int, params: dict[str, list[str]], tenant: TenantState, base: str, now: int
    ) -> Response:
        report = self.reports.get_detailed(report_id, tenant.tenant_id, now)
        if report.status == "FAILED":
            raise bad_request("Report failed")
        size = self._size(params)
        cursors = params.get("lastDocumentId")
        start = report.start_index(cursors[-1] if cursors else None)
        refs = report.refs(start, size)
        total = report.total
        headers_out = {
            "X-Page-Size": str(size),
            "X-Total-Pages": str(-(-total // size)),
            "X-Total-Elements": str(total),
        }
        if refs and start + len(refs) < total:
            cursor = encode_cursor(refs[-1].time_ms, refs[-1].seq)
            headers_out["Last-Document-Id"] = cursor
            url = (
                f"{base}/detailed-reports/{report_id}/data?size={size}&lastDocumentId={quote_cursor(cursor)}"
            )
            headers_out["Link"] = link_header(url, "next")
        return Response(200, report.page_body(refs, tenant.fragments), HIST_JSON, headers_out)

    @staticmethod
    def _report_types() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in DETAILED_TYPES:
            keys = list(FIELDS_BY_TYPE[name])
            out.append(
                {"type": name, "metrics": keys, "searchQuery": {"fields": keys, "operators": list(OPERATORS)}}
            )
        return out

    # -- realtime -----------------------------------------------------------------------------------

    def _realtime(
        self,
        method: str,
        rest: str,
        params: dict[str, list[str]],
        headers: dict[str, str],
        tenant: TenantState,
    ) -> Response:
        if rest.rstrip("/") != "/agents":
            raise ApiError(404, "Not found")
        self._require(method, "GET", headers, ("application/json",))
        body, extra = agents_response(
            tenant, params, self.clock.now_ms(), metrics_required=self.config.agents_metrics_required
        )
        return json_response(200, body, RT_JSON, **extra)
