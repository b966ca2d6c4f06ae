"""Retry policy of the 8x8 client: which answers are worth another attempt, and how long to wait.

Retry 429, 5xx gateway answers, timeouts and connection resets with capped exponential backoff and
full jitter, honouring ``Retry-After``; fail fast on everything else (see docs/8x8-api-notes.md,
“Rate limits and retries”).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 8x8 documents neither 429 nor 5xx for these APIs. 500 is retried like 502/503/504 because the
# gateway in front of them (Apigee, judging by its token responses) answers 500 for backend hiccups
# that succeed on the next try, and a data GET is idempotent.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# A Retry-After longer than this is not slept through inside one task: the client gives up at once
# (TransientApiError) and leaves the wait to Airflow's task retry, instead of blocking a worker slot.
MAX_RETRY_AFTER_S = 300.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None if absent/unparseable.

    Accepts both forms of RFC 9110: delay-seconds (``"3"``) and an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``). A date in the past means "now" (0 s). ``now`` should be
    the response's ``Date`` header when there is one, so clock skew between us and the server
    does not distort the wait.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # float() also accepts "nan"/"inf"; neither is a usable delay.
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; parsedate_to_datetime returns naive for "-0000".
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def server_now(date_header: str | None) -> datetime | None:
    """The server's clock from a ``Date`` header, used as the reference for Retry-After dates."""
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def backoff_ceiling(retry_number: int, *, base_s: float, cap_s: float) -> float:
    """Upper bound of the wait before retry ``retry_number`` (1 = first retry): base·2^(n-1), capped."""
    if retry_number < 1:
        raise ValueError("retry_number starts at 1")
    # min() before the power would still overflow for huge n; clamp the exponent instead.
    exponent = min(retry_number - 1, 62)
    return min(float(cap_s), float(base_s) * float(1 << exponent))


def backoff_delay(
    retry_number: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Full-jitter exponential backoff, never shorter than the server's ``Retry-After``.

    Full jitter (a uniform draw between 0 and the ceiling) spreads retries of parallel tasks that
    failed together, which matters because several integrations may share one 8x8 credential.
    """
    delay = float(uniform(0.0, backoff_ceiling(retry_number, base_s=base_s, cap_s=cap_s)))
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay
