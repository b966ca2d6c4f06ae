"""The simulator's injectable clock: fixed, or the wall clock plus an offset."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """Thread-safe clock; everything time-dependent in the simulator asks it for "now"."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._fixed_ms: int | None = None
        self._offset_ms = 0
        if now is not None:
            self.set(now)

    def now_ms(self) -> int:
        """Now in epoch milliseconds; the whole simulator works at millisecond precision."""
        with self._lock:
            if self._fixed_ms is not None:
                return self._fixed_ms
            return time.time_ns() // 1_000_000 + self._offset_ms

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=UTC)

    @property
    def is_fixed(self) -> bool:
        with self._lock:
            return self._fixed_ms is not None

    def set(self, instant: datetime) -> None:
        if instant.utcoffset() is None:
            raise ValueError("the simulator clock needs an aware datetime")
        with self._lock:
            self._fixed_ms = to_ms(instant)

    def advance(self, delta: timedelta) -> None:
        """Move the clock; a real-time clock keeps running, shifted by ``delta``."""
        step = round(delta.total_seconds() * 1000)
        with self._lock:
            if self._fixed_ms is not None:
                self._fixed_ms += step
            else:
                self._offset_ms += step

    def use_real_time(self) -> None:
        with self._lock:
            self._fixed_ms = None
            self._offset_ms = 0


def to_ms(instant: datetime) -> int:
    """Epoch milliseconds of an aware datetime (sub-millisecond digits truncated)."""
    if instant.utcoffset() is None:
        raise ValueError("aware datetime required")
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400_000) + (delta.seconds * 1000) + (delta.microseconds // 1000)


def from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
