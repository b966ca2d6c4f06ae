"""The simulator's generation caches: least recently used, bounded by weight, computed once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlightCache(Generic[K, V]):
    """An LRU cache whose entries weigh ``weight(value)`` and whose total weight stays within
    ``max_weight`` (the newest entry always stays). Concurrent callers of a missing key wait for
    one computation instead of each repeating it: under the GIL a duplicate costs every other
    request of the simulator its time."""

    def __init__(self, max_weight: int, weight: Callable[[V], int] = lambda _value: 1) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._weight_of = weight
        self._weight = 0
        self._max_weight = max_weight
        self._lock = threading.Lock()
        self._pending: dict[K, threading.Event] = {}

    def get(self, key: K, compute: Callable[[], V], on_store: Callable[[V], None] | None = None) -> V:
        """The value of ``key``, computed by ``compute`` if it is not cached; ``on_store`` is called
        (under the cache's lock) once for each value stored."""
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = threading.Event()
        if not owner:
            pending.wait()
            with self._lock:
                cached = self._entries.get(key)
            # Evicted meanwhile, or the computation failed: compute it here.
            return cached if cached is not None else compute()
        try:
            value = compute()
            with self._lock:
                if key not in self._entries:
                    if on_store is not None:
                        on_store(value)
                    self._entries[key] = value
                    self._weight += self._weight_of(value)
                    while self._weight > self._max_weight and len(self._entries) > 1:
                        _, evicted = self._entries.popitem(last=False)
                        self._weight -= self._weight_of(evicted)
                return self._entries.get(key, value)
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()
