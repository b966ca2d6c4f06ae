"""Errors raised by the 8x8 client, sorted by what the caller should do about them.

* Fatal configuration or credential problems (``ConfigurationError``, ``AuthenticationError``,
  ``TenantHeaderError``, ``ApiError``): retrying cannot help; a person has to change something.
* ``TransientApiError``: the client already retried with backoff and gave up; an Airflow task retry
  later may succeed.
* Report and pagination problems (``ReportFailedError``, ``PaginationError``): the data of this
  run cannot be trusted; fail the run rather than load partial data.

Every message says where the problem happened (integration, region, endpoint path) so that a
person reading a task log can act on it. No message ever contains the client secret or a token:
the client builds messages only from settings fields that are not secret, the URL path, the status
code and the server's ``message`` text, which it scrubs of both secrets before quoting.
"""

from __future__ import annotations


class EightByEightError(Exception):
    """Base class of every error the 8x8 client raises."""

    def __init__(
        self,
        message: str,
        *,
        integration: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.detail = message
        self.integration = integration
        self.region = region
        self.endpoint = endpoint
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.integration:
            where.append(f"integration {self.integration!r}")
        if self.region:
            where.append(f"region {self.region.upper()}")
        if self.endpoint:
            where.append(f"endpoint {self.endpoint}")
        prefix = f"8x8 ({', '.join(where)})" if where else "8x8"
        return f"{prefix}: {self.detail}"

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions with keyword-only constructor arguments do not survive pickling by default
        # (Exception.__reduce__ replays only ``args``); task runners and executors may pickle them.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[EightByEightError], state: dict[str, object]) -> EightByEightError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._render())
    return error


class ConfigurationError(EightByEightError):
    """A connection or settings value is missing or invalid; names the connection and the field."""

    def __init__(
        self,
        message: str,
        *,
        conn_id: str | None = None,
        fields: tuple[str, ...] = (),
        integration: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.fields = fields
        super().__init__(message, integration=integration, region=region, endpoint=endpoint)

    def _render(self) -> str:
        rendered = super()._render()
        if self.conn_id:
            return f"Airflow connection {self.conn_id!r}: {rendered}"
        return rendered


class AuthenticationError(EightByEightError):
    """The token endpoint refused the credentials, or a fresh token was refused again."""


class ApiError(EightByEightError):
    """A fatal (non-retryable) answer from 8x8, e.g. 400, 403, 404, 405, 406."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        integration: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.status = status
        super().__init__(message, integration=integration, region=region, endpoint=endpoint)


class ReportNotFoundError(ApiError):
    """The data of a report just created stayed 404 after the client's retries.

    8x8 does not say when a new report's data becomes readable (see docs/8x8-api-notes.md, “Reading
    it”). The caller may create the report once more; the client cannot, it does not know the
    report definition when it pages data.
    """


class TenantHeaderError(ApiError):
    """8x8 refused the ``X-Tenant-Info`` header (missing for a multi-tenant credential, or wrong)."""


class TransientApiError(EightByEightError):
    """A retry-worthy failure (429, 5xx, timeout, reset) persisted through every attempt."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        attempts: int,
        integration: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.status = status
        self.attempts = attempts
        super().__init__(message, integration=integration, region=region, endpoint=endpoint)


class ReportFailedError(EightByEightError):
    """8x8 reports the report as FAILED (or any status other than DONE for a detailed report)."""

    def __init__(
        self,
        message: str,
        *,
        report_id: int | None,
        status: str | None,
        reason: str | None,
        integration: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.report_id = report_id
        self.status = status
        self.reason = reason
        super().__init__(message, integration=integration, region=region, endpoint=endpoint)


class PaginationError(EightByEightError):
    """Pages disagree with the totals 8x8 announced, a cursor repeats, or the loop guard tripped."""


class ProtocolError(ApiError):
    """8x8 answered something the client refuses to read: a body larger than the configured cap,
    or JSON nested deeper than any 8x8 answer is. Retrying the same request would not help."""
