"""OAuth2 client-credentials token state for 8x8.

See docs/8x8-api-notes.md, “Authentication: OAuth client credentials”.

The object owns the credentials and the current token and decides *when* a token is needed; the
client performs the HTTP call (so the token request gets the same timeouts, retries and accounting
as every other call) and hands the response body back here. Accepting a token is two steps,
:meth:`ClientCredentialsAuth.read_token_response` then :meth:`ClientCredentialsAuth.store`, so a
client can register the token with an asynchronous secrets masker in between: a token is masked
before it is stored, hence before anything could log it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# 8x8 asks clients to reuse a token rather than fetch one per request; renew when less than 60 s
# of its lifetime remain.
RENEW_MARGIN_S = 60.0


class InvalidTokenResponse(ValueError):
    """The token endpoint answered 200 with a body that does not carry a usable token."""


@dataclass(frozen=True)
class TokenGrant:
    """A usable token read from a token response, and how long it lives."""

    token: str = field(repr=False)
    lifetime_s: float


class ClientCredentialsAuth:
    """Client id/secret plus the bearer token obtained with them; never shows either secret."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float],
        secret_masker: Callable[[str], None] | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._secret_masker = secret_masker
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0

    def __repr__(self) -> str:
        state = "valid" if self.has_valid_token() else "none"
        return f"ClientCredentialsAuth(client_id={self.client_id!r}, token={state})"

    @property
    def basic_auth(self) -> tuple[str, str]:
        """(client id, secret) for HTTP Basic on the token request."""
        return (self.client_id, self._client_secret)

    @staticmethod
    def token_form() -> dict[str, str]:
        # 8x8's token request carries only grant_type: no scope, no credentials in the body.
        return {"grant_type": "client_credentials"}

    def has_valid_token(self) -> bool:
        return self._token is not None and self._clock() < self._renew_at

    def current_token(self) -> str | None:
        """The token if it is not due for renewal, else None (the caller fetches a new one)."""
        return self._token if self.has_valid_token() else None

    def secrets(self) -> tuple[str, ...]:
        """The strings that must never appear in a message: the secret and the current token."""
        return tuple(s for s in (self._client_secret, self._token) if s)

    def invalidate(self) -> None:
        """Forget the token, e.g. after 8x8 answered 401 to it (revoked or expired early)."""
        self._token = None
        self._expires_at = self._renew_at = 0.0

    def accept_token_response(self, body: Mapping[str, Any], *, requested_at: float) -> str:
        """Store the token of a 200 response and return it, masked first (see :meth:`store`)."""
        grant = self.read_token_response(body)
        if self._secret_masker is not None:
            # Before storing, so it is masked before anything could log it.
            self._secret_masker(grant.token)
        return self.store(grant, requested_at=requested_at)

    @staticmethod
    def read_token_response(body: Mapping[str, Any]) -> TokenGrant:
        """The token and lifetime of a 200 response; :class:`InvalidTokenResponse` if unusable."""
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise InvalidTokenResponse("token response has no access_token")
        return TokenGrant(token, _parse_expires_in(body.get("expires_in")))

    def store(self, grant: TokenGrant, *, requested_at: float) -> str:
        """Make ``grant`` the current token and return it; the caller has masked it already.

        ``requested_at`` is the clock reading taken *before* the request was sent, so time spent
        in flight counts against the token's lifetime rather than extending it.
        """
        # 8x8 documents "1799" s; a much shorter lifetime (test tenants, or the simulator's
        # token_ttl_seconds) would make a fixed 60 s margin renew on every request, which 8x8
        # asks clients not to do, so the margin never exceeds half the lifetime.
        margin = min(RENEW_MARGIN_S, grant.lifetime_s / 2)
        self._token = grant.token
        self._expires_at = requested_at + grant.lifetime_s
        self._renew_at = self._expires_at - margin
        return grant.token


def _parse_expires_in(value: object) -> float:
    # 8x8 sends a JSON string of seconds ("1799"); accept a number too.
    if isinstance(value, bool):
        raise InvalidTokenResponse("token response has a boolean expires_in")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            raise InvalidTokenResponse("token response has a non-numeric expires_in") from None
    else:
        raise InvalidTokenResponse("token response has no expires_in")
    if not seconds > 0:
        raise InvalidTokenResponse("token response has a non-positive expires_in")
    return seconds
