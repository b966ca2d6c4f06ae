"""A size-bounded LRU of rendered report-row JSON, shared by the reports of one tenant.

See ``acdflow_dev.sim.reports`` for which rows may be shared and why.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

# (rendering variant id, record seq, malformation)
FragmentKey = tuple[int, int, str | None]


class FragmentCache:
    """Rendered JSON of final rows (bytes), shared by all reports of a tenant; LRU bounded by size.

    Keyed by the rendering variant (report type, metrics, participants, options), the record's
    ``seq`` (unique per tenant and report type) and its malformation, which the fault spec decides
    at report creation and may change between reports.
    """

    def __init__(self, max_bytes: int) -> None:
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[FragmentKey, bytes] = OrderedDict()
        self._variants: dict[tuple[object, ...], int] = {}
        self.hits = 0
        self.misses = 0

    def variant_id(self, variant: tuple[object, ...]) -> int:
        with self._lock:
            return self._variants.setdefault(variant, len(self._variants))

    def lookup(self, keys: list[FragmentKey | None]) -> list[bytes | None]:
        """Cached fragments for ``keys`` (``None`` key or not cached → ``None``), one lock per page."""
        out: list[bytes | None] = []
        entries = self._entries
        with self._lock:
            for key in keys:
                found = entries.get(key) if key is not None else None
                if found is not None:
                    entries.move_to_end(key)  # type: ignore[arg-type]
                    self.hits += 1
                elif key is not None:
                    self.misses += 1
                out.append(found)
        return out

    def store(self, items: list[tuple[FragmentKey, bytes]]) -> None:
        if self._max_bytes <= 0:
            return
        entries = self._entries
        with self._lock:
            for key, fragment in items:
                if key in entries:
                    continue
                entries[key] = fragment
                self._bytes += len(fragment)
            while self._bytes > self._max_bytes and entries:
                _, evicted = entries.popitem(last=False)
                self._bytes -= len(evicted)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
