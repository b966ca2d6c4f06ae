"""Fault injection: a small spec grammar, one-shot failures, and deterministic malformed rows.

Grammar: ``key=value`` pairs separated by ``;`` (whitespace ignored, empty spec = no faults)::

    rate=0.05;kinds=429,500,502,503,504,latency,reset,revoke;retry_after=1;latency_ms=1500;
    failed_reports=1;failed_report_rate=0.1;malformed_rate=0.01;
    malformed_kinds=missing_keys,bad_timestamp,naive_timestamp,unknown_media,null_queue;
    rate_limit_per_minute=120;path=detailed-reports;seed=3

* ``rate`` — probability that an eligible request gets one fault, drawn from ``kinds`` (default
  ``429,503``) with a RNG seeded by ``seed`` (so a run is reproducible given the request order).
* kinds: ``429`` (``Retry-After: retry_after`` seconds + Apigee spike-arrest body), ``500``/``502``/
  ``503``/``504`` (gateway-style body), ``latency`` (sleep ``latency_ms`` then answer normally),
  ``reset`` (close the socket without any response), ``revoke`` (revoke every token, then 401
  ``Invalid access token`` on that request; on the token endpoint ``revoke`` is not applicable and
  the request passes).
* ``latency_ms`` alone (without ``rate``) delays every eligible request; with ``rate`` it is only
  the delay of the ``latency`` fault.
* ``failed_reports=N`` — the next N detailed-report creates answer ``FAILED``;
  ``failed_report_rate`` — each create fails with that probability.
* ``malformed_rate`` — share of rows that are malformed, decided per record by a hash of
  (simulator seed, fault seed, record id) so every re-read is malformed the same way.
  Interaction kinds (only rows that would otherwise be imported): ``missing_keys`` (the
  ``queueTime``, ``mediaType`` or ``direction`` item is absent), ``bad_timestamp`` (``queueTime``
  unparseable), ``naive_timestamp`` (``queueTime`` without offset), ``unknown_media`` (``Fax``),
  ``null_queue`` (``queueName``/``queueId`` null). Agent-status kinds: ``missing_agent_id`` (no
  ``agentId`` item), ``bad_time`` (``time`` unparseable); they are enabled by ``missing_keys`` and
  ``bad_timestamp`` respectively (``null_queue``/``unknown_media``/``naive_timestamp`` map to these too).
* ``rate_limit_per_minute`` — at most N eligible requests per rolling minute, else 429.
* ``path`` — only requests whose path contains this substring are eligible for ``rate``/``latency``.

Faults apply to the token endpoint and the metrics APIs, never to ``/_sim/*``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from acdflow_dev.sim.rng import stable_int, stable_unit

STATUS_KINDS = frozenset({"429", "500", "502", "503", "504"})
ALL_KINDS = STATUS_KINDS | {"latency", "reset", "revoke"}
INTERACTION_MALFORMATIONS = (
    "missing_keys",
    "bad_timestamp",
    "naive_timestamp",
    "unknown_media",
    "null_queue",
)
_MEMO_LIMIT = 2_000_000  # record ids (~150 bytes each): several days at 100,000/day
AGENT_MALFORMATIONS = ("missing_agent_id", "bad_time")
_AGENT_KIND_FOR = {
    "missing_keys": "missing_agent_id",
    "null_queue": "missing_agent_id",
    "bad_timestamp": "bad_time",
    "naive_timestamp": "bad_time",
    "unknown_media": "bad_time",
}


@dataclass(frozen=True)
class FaultSpec:
    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "503")
    retry_after: int = 1
    latency_ms: int = 0
    failed_reports: int = 0
    failed_report_rate: float = 0.0
    malformed_rate: float = 0.0
    malformed_kinds: tuple[str, ...] = INTERACTION_MALFORMATIONS
    rate_limit_per_minute: int = 0
    path: str = ""
    seed: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        values: dict[str, object] = {"text": text.strip()}
        for raw in text.split(";"):
            part = raw.strip()
            if not part:
                continue
            if "=" not in part:
                raise ValueError(f"bad fault spec {text!r}: item {part!r} is not key=value")
            key, value = (s.strip() for s in part.split("=", 1))
            try:
                if key in ("rate", "failed_report_rate", "malformed_rate"):
                    number = float(value)
                    if not 0.0 <= number <= 1.0:
                        raise ValueError(f"{key} must be within [0, 1]")
                    values[key] = number
                elif key in ("retry_after", "latency_ms", "failed_reports", "rate_limit_per_minute", "seed"):
                    integer = int(value)
                    if integer < 0:
                        raise ValueError(f"{key} must be >= 0")
                    values[key] = integer
                elif key == "kinds":
                    kinds = tuple(k.strip().lower() for k in value.split(",") if k.strip())
                    unknown = set(kinds) - ALL_KINDS
                    if unknown or not kinds:
                        raise ValueError(
                            f"unknown fault kinds {sorted(unknown)}; expected {sorted(ALL_KINDS)}"
                        )
                    values[key] = kinds
                elif key == "malformed_kinds":
                    mkinds = tuple(k.strip() for k in value.split(",") if k.strip())
                    bad = set(mkinds) - set(INTERACTION_MALFORMATIONS)
                    if bad or not mkinds:
                        raise ValueError(f"unknown malformed kinds {sorted(bad)}")
                    values[key] = mkinds
                elif key == "path":
                    values[key] = value
                else:
                    raise ValueError(f"unknown fault spec key {key!r}")
            except ValueError as exc:
                raise ValueError(f"bad fault spec {text!r}: {exc}") from exc
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class _OneShot:
    kind: str
    path_contains: str | None


@dataclass
class FaultDecision:
    kind: str | None = None
    latency_ms: int = 0
    labels: list[str] = field(default_factory=list)


class FaultInjector:
    """Holds the active fault configuration; thread-safe."""

    def __init__(self, sim_seed: int, spec: str = "") -> None:
        self._sim_seed = sim_seed
        self._lock = threading.Lock()
        self._spec = FaultSpec()
        self._rng = random.Random(0)
        self._report_rng = random.Random(1)
        self._failed_reports_left = 0
        self._one_shots: deque[_OneShot] = deque()
        # Malformation per record id under the current spec: a hash per row and report is most of
        # the cost of creating a report; replaced (not cleared) with the spec so a decision taken
        # under an old spec never lands in the new one's memo.
        self._malformed_memo: dict[str, str | None] = {}
        self._recent: deque[float] = deque()
        self.configure(spec)

    # -- configuration ------------------------------------------------------------------------------

    def configure(self, spec: str) -> None:
        """Replace the spec (one-shot failures queued by ``fail_next`` are kept)."""
        parsed = FaultSpec.parse(spec)
        with self._lock:
            self._spec = parsed
            self._malformed_memo = {}
            self._rng = random.Random(stable_int("faults", parsed.seed))
            self._report_rng = random.Random(stable_int("failed-reports", parsed.seed))
            self._failed_reports_left = parsed.failed_reports
            self._recent.clear()

    def fail_next(self, statuses: list[int | str], path_contains: str | None = None) -> None:
        """Queue one-shot faults: each entry is a status (429, 5xx, any int) or a kind name."""
        with self._lock:
            for status in statuses:
                kind = str(status).lower()
                if not (kind in ALL_KINDS or kind.isdigit()):
                    raise ValueError(f"unknown fault {status!r}")
                self._one_shots.append(_OneShot(kind, path_contains))

    def clear(self) -> None:
        with self._lock:
            self._spec = FaultSpec()
            self._one_shots.clear()
            self._malformed_memo = {}
            self._failed_reports_left = 0
            self._recent.clear()

    @property
    def spec(self) -> FaultSpec:
        with self._lock:
            return self._spec

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "spec": self._spec.text,
                "failed_reports_left": self._failed_reports_left,
                "fail_next": [{"kind": s.kind, "path_contains": s.path_contains} for s in self._one_shots],
            }

    # -- decisions ----------------------------------------------------------------------------------

    def decide(self, path: str, *, token_endpoint: bool) -> FaultDecision:
        """The fault (if any) for one request; called once per eligible request."""
        with self._lock:
            decision = FaultDecision()
            spec = self._spec
            for shot in list(self._one_shots):
                if shot.path_contains is None or shot.path_contains in path:
                    self._one_shots.remove(shot)
                    decision.kind = shot.kind
                    break
            eligible = not spec.path or spec.path in path
            if decision.kind is None and spec.rate_limit_per_minute and eligible:
                now = time.monotonic()
                while self._recent and now - self._recent[0] > 60:
                    self._recent.popleft()
                if len(self._recent) >= spec.rate_limit_per_minute:
                    decision.kind = "429"
                else:
                    self._recent.append(now)
            if decision.kind is None and spec.rate > 0 and eligible and self._rng.random() < spec.rate:
                decision.kind = self._rng.choice(spec.kinds)
            if decision.kind == "revoke" and token_endpoint:
                decision.kind = None
            # With a rate, latency_ms is the delay of the `latency` fault only; alone it slows everything.
            blanket = spec.latency_ms > 0 and spec.rate == 0
            if decision.kind == "latency" or (decision.kind is None and blanket and eligible):
                decision.latency_ms = spec.latency_ms or 1000
                if decision.kind is None:
                    decision.kind = "latency"
            return decision

    @property
    def retry_after(self) -> int:
        return self.spec.retry_after

    def take_failed_report(self) -> bool:
        """Whether the detailed report being created now fails."""
        with self._lock:
            if self._failed_reports_left > 0:
                self._failed_reports_left -= 1
                return True
            rate = self._spec.failed_report_rate
            return rate > 0 and self._report_rng.random() < rate

    def interaction_malformation(self, record_id: str) -> str | None:
        with self._lock:
            spec, memo = self._spec, self._malformed_memo
        if spec.malformed_rate <= 0:
            return None
        try:
            return memo[record_id]
        except KeyError:
            pass
        kind: str | None = None
        if stable_unit(self._sim_seed, spec.seed, "malformed", record_id) < spec.malformed_rate:
            kinds = spec.malformed_kinds
            kind = kinds[stable_int(self._sim_seed, spec.seed, "malformed-kind", record_id) % len(kinds)]
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()  # a long run: start over rather than grow without bound
        memo[record_id] = kind
        return kind

    def agent_malformation(self, record_id: str) -> str | None:
        kind = self.interaction_malformation(record_id)
        return None if kind is None else _AGENT_KIND_FOR[kind]
