"""Errors that become HTTP responses."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as ``status`` with a JSON ``body`` (``{"message": ...}`` by default).

    8x8 shows that body only for realtime errors; the simulator uses it for every error the service
    itself (not the gateway) answers.
    """

    def __init__(
        self, status: int, message: str | None = None, *, body: dict[str, object] | None = None
    ) -> None:
        super().__init__(message or str(body))
        self.status = status
        self.body: dict[str, object] = body if body is not None else {"message": message or ""}


def bad_request(what: str) -> ApiError:
    return ApiError(400, what if what.startswith("Bad request:") else f"Bad request: {what}")
